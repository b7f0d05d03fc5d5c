"""``plait openapi APP``, and the code of docs/openapi.md (which must run)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from _docs import run_page
from plait import cli
from plait.openapi import openapi_command, openapi_schema

ROOT = Path(__file__).resolve().parents[2]
TODO_APP = ROOT / "examples" / "todo_api" / "app.py"
PAGE = ROOT / "docs" / "openapi.md"


@pytest.fixture(autouse=True)
def _forget_loaded_apps(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The command imports the example into this process: forget it afterwards."""
    monkeypatch.delenv("PLAIT_APP", raising=False)
    path, modules = list(sys.path), set(sys.modules)
    yield
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        if (getattr(sys.modules[name], "__file__", None) or "").startswith(str(ROOT / "examples")):
            del sys.modules[name]


def test_prints_the_document() -> None:
    result = CliRunner().invoke(openapi_command, [f"{TODO_APP}:app"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed == openapi_schema(sys.modules["app"].app)
    assert printed["info"]["title"] == "To-do API"
    assert "/todos/{todo_id}" in printed["paths"]


def test_writes_the_document_to_a_file(tmp_path: Path) -> None:
    target = tmp_path / "openapi.json"
    result = CliRunner().invoke(openapi_command, [f"{TODO_APP}:app", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "Wrote the OpenAPI document" in result.stderr
    assert json.loads(target.read_text())["openapi"] == "3.1.0"


def test_takes_the_app_from_the_environment_and_indents() -> None:
    result = CliRunner().invoke(
        openapi_command, ["--indent", "0"], env={"PLAIT_APP": f"{TODO_APP}:app"}
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") == 1  # one line
    assert json.loads(result.stdout)["info"]["version"] == "1.0.0"


def test_a_bad_app_is_a_usage_error() -> None:
    result = CliRunner().invoke(openapi_command, [f"{TODO_APP}:nope"])
    assert result.exit_code == 2
    assert "has no attribute 'nope'" in result.output


def test_is_a_command_of_plait() -> None:
    result = CliRunner().invoke(cli.main, ["openapi", f"{TODO_APP}:app"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["info"]["title"] == "To-do API"


# ------------------------------------------------------------------ docs/openapi.md


def test_docs_page_code_runs() -> None:
    ran = run_page(PAGE)
    assert ran.blocks >= 3
    assert ran.tests == 2


def test_docs_page_links_exist() -> None:
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", PAGE.read_text()):
        assert (PAGE.parent / target).exists(), target
