"""Rendering the admin's pages: its own Jinja2 environment over the package's templates.

Everything that renders goes through :func:`render`, so the admin can move onto
``plait.templates`` by changing this one module.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib import resources
from typing import Any

import jinja2

__all__ = ["render", "stylesheet"]


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("plait.admin", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, context: Mapping[str, Any]) -> str:
    """The HTML of ``admin/<template>`` with ``context`` (every value escaped)."""
    return _environment().get_template(f"admin/{template}").render(context)


@functools.cache
def stylesheet() -> bytes:
    """The admin's stylesheet, served under its prefix (no CDN)."""
    return (resources.files("plait.admin") / "static" / "admin.css").read_bytes()
