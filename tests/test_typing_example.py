"""``mypy --strict`` accepts the typed example app, and the example really runs."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
EXAMPLE = ROOT / "tests" / "typing_example.py"


def run_mypy(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed")
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )


def test_mypy_strict_accepts_the_example() -> None:
    result = run_mypy(str(EXAMPLE), cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found in 1 source file" in result.stdout


def test_mypy_strict_catches_a_mistake(tmp_path: Path) -> None:
    """The check has teeth: a handler whose return contradicts its annotation fails."""
    broken = tmp_path / "broken_example.py"
    broken.write_text(
        "from plait import App\n\napp = App()\n\n\n"
        '@app.get("/")\nasync def index() -> int:\n    return "not an int"\n',
        encoding="utf-8",
    )
    result = run_mypy("--config-file", str(ROOT / "pyproject.toml"), str(broken), cwd=ROOT)
    assert result.returncode == 1
    assert "Incompatible return value type" in result.stdout


def test_installed_package_is_marked_typed_for_users() -> None:
    # PEP 561: without the marker, mypy treats an installed plait as untyped.
    import plait

    assert (Path(plait.__file__).parent / "py.typed").is_file()


def test_the_example_app_runs() -> None:
    sys.path.insert(0, str(EXAMPLE.parent))
    try:
        import typing_example
    finally:
        sys.path.remove(str(EXAMPLE.parent))
    assert typing_example.exercise() == [201, 200, 422, 401, 200]
