"""``plait new``: each template's project runs and passes its own tests at once.

The projects are made once per module; each is then driven as its user would, in a fresh
interpreter (its models must not meet this process's): migrate, find no model change left
for a migration, pass ``plait check``, lint clean, and pass its own test suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import plait
from plait import cli
from plait._new import TEMPLATES

BIN = Path(sys.executable).parent


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLAIT_", "PYTEST_"))}
    return {**env, "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}", **extra}


@pytest.fixture(scope="module", params=sorted(TEMPLATES))
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    template: str = request.param
    where = tmp_path_factory.mktemp(f"new-{template}")
    name = f"my-{template}"
    result = CliRunner().invoke(
        cli.main, ["new", name, "--template", template, "--directory", str(where / name)]
    )
    assert result.exit_code == 0, result.output
    assert f"Created {where / name}/ from the {template} template" in result.output
    assert "make test" in result.output
    return where / name


def run(
    project: Path, *command: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=project,
        env=_clean_env(**(env or {})),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_project_has_what_it_needs(project: Path) -> None:
    package = project.name.replace("-", "_")
    for name in [
        ".gitignore",
        ".env",
        "Makefile",
        "README.md",
        "pyproject.toml",
        f"{package}/app.py",
        f"{package}/models.py",
        f"{package}/settings.py",
        "migrations/env.py",
        "migrations/versions/0001_create_posts.py",
        "tests/conftest.py",
        "tests/test_app.py",
    ]:
        assert (project / name).is_file(), name
    assert not list(project.rglob("*-tpl"))
    meta = tomllib.loads((project / "pyproject.toml").read_text())
    (dependency,) = meta["project"]["dependencies"]
    assert dependency.endswith(f"=={plait.__version__}")  # the plait it was made with
    readme = (project / "README.md").read_text()
    assert "make demo" in readme
    assert "make test" in readme
    makefile = (project / "Makefile").read_text()
    assert "demo: install" in makefile
    assert "test: install" in makefile
    assert ".env" in (project / ".gitignore").read_text().split()
    env = (project / ".env").read_text()
    assert "PLAIT_DEBUG=1" in env
    assert "PLAIT_SECRET_KEY=" in env
    if project.name == "my-site":
        assert (project / package / "templates" / "base.html").is_file()
        assert (project / package / "static" / "css" / "app.css").is_file()


COMMANDS = """
import sys

from click.testing import CliRunner

from plait.cli import main

app = sys.argv[1]
for command in (
    ["db", "migrate", "--app", app],
    ["db", "makemigrations", "--app", app, "-m", "nothing"],
    ["check", app],
):
    result = CliRunner().invoke(main, command)
    print(result.exit_code, result.output.strip().replace("\\n", " | "))
"""


def test_the_project_migrates_checks_and_passes_its_tests(project: Path) -> None:
    app = f"{project.name.replace('-', '_')}.app:app"
    commands = run(project, sys.executable, "-c", COMMANDS, app)
    assert commands.stdout.splitlines() == [
        "0 Running upgrade  -> 0001, create posts",
        "0 No changes detected",  # the committed migration matches the models
        "0 plait check: no problems found (checks)",
    ], commands.stderr
    # Its own suite, with no pytest plugin but pytest's (faster; it needs none).
    tests = run(
        project, sys.executable, "-m", "pytest", "-q", env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert " passed" in tests.stdout
    assert "warning" not in tests.stdout
    for lint in (["check", "."], ["format", "--check", "."]):
        linted = run(project, str(BIN / "ruff"), *lint)
        assert linted.returncode == 0, linted.stdout


def test_bad_names_and_taken_directories(tmp_path: Path) -> None:
    runner = CliRunner()
    for name in ["1blog", "my blog", "json", "class", "plait"]:
        result = runner.invoke(cli.main, ["new", name, "--directory", str(tmp_path / "x")])
        assert result.exit_code == 2, (name, result.output)
        assert "Invalid value for NAME" in result.output
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("mine")
    result = runner.invoke(cli.main, ["new", "taken", "--directory", str(tmp_path / "taken")])
    assert result.exit_code == 1
    assert "already exists and is not empty" in result.output
    assert (tmp_path / "taken" / "file").read_text() == "mine"


def test_install_runs_pip_into_this_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Any] = []

    def fake_run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(subprocess, "run", fake_run)
    target = tmp_path / "shop"
    result = CliRunner().invoke(cli.main, ["new", "shop", "--directory", str(target), "--install"])
    assert result.exit_code == 0, result.output
    assert calls == [
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-q",
            "-e",
            f"{target}[dev]",
        ]
    ]
