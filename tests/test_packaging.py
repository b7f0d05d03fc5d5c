"""The sdist and the wheel: the MIT LICENSE in both, and the sdist only what a clone has."""

from __future__ import annotations

import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

hatchling = pytest.importorskip("hatchling", reason="the dev extra installs hatchling")

ROOT = Path(__file__).resolve().parent.parent


def build(target: str, directory: Path) -> Path:
    from hatchling.builders.sdist import SdistBuilder
    from hatchling.builders.wheel import WheelBuilder

    builder = SdistBuilder(str(ROOT)) if target == "sdist" else WheelBuilder(str(ROOT))
    (artifact,) = builder.build(directory=str(directory), versions=["standard"])
    return Path(artifact)


def clone_files() -> set[str] | None:
    """What a clone of this checkout holds (with files not yet committed but not ignored)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return {line for line in listed.splitlines() if (ROOT / line).is_file()}


def test_the_sdist_holds_only_what_a_clone_has(tmp_path: Path) -> None:
    # What a test run leaves behind, as schemathesis and hypothesis do.
    probes = [ROOT / ".hypothesis" / "probe-f10", ROOT / ".schemathesis" / "probe-f10"]
    for probe in probes:
        probe.parent.mkdir(exist_ok=True)
        probe.write_text("left behind by a test run")
    try:
        sdist = build("sdist", tmp_path)
    finally:
        for probe in probes:
            probe.unlink()
    with tarfile.open(sdist) as archive:
        prefix = archive.getnames()[0].split("/")[0] + "/"
        names = {name.removeprefix(prefix) for name in archive.getnames() if name != prefix[:-1]}
        files = {m.name.removeprefix(prefix) for m in archive.getmembers() if m.isfile()}
    assert "LICENSE" in files
    assert "README.md" in files
    assert "src/plait/__init__.py" in files
    assert not any(name.startswith((".hypothesis", ".schemathesis", ".venv")) for name in names)
    clone = clone_files()
    if clone is None:
        pytest.skip("not a git checkout: nothing to compare the sdist with")
    assert files - {"PKG-INFO"} <= clone, sorted(files - {"PKG-INFO"} - clone)[:20]


def test_the_wheel_carries_the_license(tmp_path: Path) -> None:
    wheel = build("wheel", tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        license_files = [name for name in names if name.endswith(".dist-info/licenses/LICENSE")]
        assert license_files, names[-10:]
        assert "MIT License" in archive.read(license_files[0]).decode()
        metadata = next(name for name in names if name.endswith(".dist-info/METADATA"))
        assert "License-Expression: MIT" in archive.read(metadata).decode()
    assert not any(name.startswith(("tests/", "bench/")) for name in names)
    # `plait new` works from an installed plait: its templates are in the wheel, dotfiles too.
    for template in [
        "common/gitignore",
        "common/env",
        "common/pyproject.toml-tpl",
        "common/migrations/script.py.mako",
        "site/__PROJECT__/static/css/app.css",
    ]:
        assert f"plait/_scaffold/{template}" in names, template


def test_make_install_says_what_it_does_before_pip_runs(tmp_path: Path) -> None:
    planned = subprocess.run(
        ["make", "-n", "install", f"VENV={tmp_path / 'venv'}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if planned.returncode == 127 or "No such file" in planned.stderr:
        pytest.skip("make is not installed")
    lines = planned.stdout.splitlines()
    said = next(i for i, line in enumerate(lines) if "make: installing plait" in line)
    pip = next(i for i, line in enumerate(lines) if "pip install" in line and "echo" not in line)
    assert said < pip
    assert "--quiet" not in lines[pip]  # pip's progress shows; a minute of silence does not
