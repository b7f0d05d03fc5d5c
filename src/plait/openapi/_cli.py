"""``plait openapi APP``: print (or write) the app's OpenAPI document."""

from __future__ import annotations

import json
from pathlib import Path

import click

from plait._clioptions import app_options, path_option
from plait._loading import cli_load_app
from plait.openapi._generator import openapi_schema

__all__ = ["openapi_command"]


@click.command("openapi")
@app_options
@path_option(
    "-o", "--output", writable=True, help="Write the document to this file instead of printing it."
)
@click.option("--indent", type=int, default=2, show_default=True, help="JSON indentation.")
def openapi_command(app_spec: str, app_dir: str, output: Path | None, indent: int) -> None:
    """Print APP's OpenAPI 3.1 document as JSON."""
    app = cli_load_app(app_spec, app_dir).app
    text = json.dumps(openapi_schema(app), indent=indent or None, ensure_ascii=False) + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    click.echo(f"Wrote the OpenAPI document of {app_spec} to {output}", err=True)
