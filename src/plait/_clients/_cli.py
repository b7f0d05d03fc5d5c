"""``plait client APP --python|--typescript -o FILE``."""

from __future__ import annotations

import enum
import shutil
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import click
import msgspec

from plait._app import App
from plait._clients._operations import operations, schemas
from plait._clients._python import python_client
from plait._clients._typescript import typescript_client
from plait._clioptions import app_options, path_option
from plait._loading import cli_load_app
from plait._routing import Route
from plait.openapi._generator import openapi_schema

__all__ = ["client_command", "format_python", "importable_types"]


def _ruff() -> str | None:
    beside = Path(sys.executable).parent / "ruff"
    return str(beside) if beside.is_file() else shutil.which("ruff")


def format_python(source: str) -> str:
    """``source`` formatted by ruff (100 columns, no project settings) when ruff is installed,
    so the client reads like hand-written code; as it is otherwise."""
    ruff = _ruff()
    if ruff is None:
        return source
    done = subprocess.run(
        [ruff, "format", "--isolated", "--line-length", "100", "-"],
        input=source,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout if done.returncode == 0 else source


def _walk(annotation: Any, found: dict[str, type], seen: set[int]) -> None:
    if id(annotation) in seen:
        return
    seen.add(id(annotation))
    for argument in typing.get_args(annotation):
        _walk(argument, found, seen)
    if not isinstance(annotation, type):
        return
    if issubclass(annotation, msgspec.Struct):
        found.setdefault(annotation.__name__, annotation)
        for field in msgspec.structs.fields(annotation):
            _walk(field.type, found, seen)
    elif issubclass(annotation, enum.Enum):
        found.setdefault(annotation.__name__, annotation)


def importable_types(app: App) -> dict[str, str]:
    """Schema name -> module, for the app's Structs and enums the client can import: those
    defined in a package module (``shop.schemas``), not in a script (``app.py`` run as
    ``app``), ``__main__`` or plait itself (a client needs no plait)."""
    found: dict[str, type] = {}
    seen: set[int] = set()
    for route in app.routes:
        if not isinstance(route, Route):
            continue
        try:
            hints = typing.get_type_hints(route.endpoint, include_extras=True)
        except (NameError, TypeError):
            continue
        for hint in [*hints.values(), route.response_model]:
            _walk(hint, found, seen)
    reused = {}
    for name, cls in found.items():
        module = cls.__module__
        if "." not in module or module.split(".")[0] in ("plait", "__main__"):
            continue
        if getattr(sys.modules.get(module), name, None) is cls:
            reused[name] = module
    return reused


@click.command("client")
@app_options
@click.option("--python", "language", flag_value="python", help="A Python client (httpx).")
@click.option(
    "--typescript", "language", flag_value="typescript", help="A TypeScript client (fetch)."
)
@path_option("-o", "--output", help="Write the client to this file instead of printing it.")
@click.option(
    "--generate-models",
    is_flag=True,
    help="Python: generate every Struct, even those the client could import from the app.",
)
def client_command(
    app_spec: str, app_dir: str, language: str | None, output: Path | None, generate_models: bool
) -> None:
    """Write a typed client for APP's API: --python (httpx, sync and async) or --typescript.

    Errors (problem+json) arrive as typed exceptions: NotFoundError, ValidationError…
    """
    if language is None:
        raise click.UsageError("Which language? Pass --python or --typescript")
    app = cli_load_app(app_spec, app_dir).app
    document = openapi_schema(app)
    flag = f"--{language}" + (" --generate-models" if generate_models else "")
    name = (
        output.name
        if output is not None
        else ("client.py" if language == "python" else "client.ts")
    )
    command = f"plait client {app_spec} {flag} -o {name}"
    found = operations(document)
    if language == "python":
        reused = {} if generate_models else importable_types(app)
        text = format_python(python_client(document, found, schemas(document), reused, command))
    else:
        text = typescript_client(document, found, schemas(document), command)
    if output is None:
        click.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    click.echo(f"Wrote a {language} client of {app_spec} ({len(found)} operations) to {output}")
