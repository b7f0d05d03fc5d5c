"""The public surface of plait.openapi is exactly this (a new name is a decision)."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

import plait.openapi


def test_public_names() -> None:
    assert plait.openapi.__all__ == [
        "FieldError",
        "Problem",
        "ValidationProblem",
        "openapi_command",
        "openapi_schema",
    ]
    for name in plait.openapi.__all__:
        assert getattr(plait.openapi, name) is not None
    assert isinstance(plait.openapi.openapi_command, click.Command)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = plait.openapi.nope


def test_serving_the_docs_does_not_import_click_or_pydantic() -> None:
    script = (
        "import sys\n"
        "from plait import App\n"
        "from plait.openapi import openapi_schema\n"
        "app = App()\n"
        "@app.get('/')\n"
        "async def index() -> str:\n"
        "    return ''\n"
        "openapi_schema(app)\n"
        "print(sorted(m for m in ('click', 'pydantic') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
