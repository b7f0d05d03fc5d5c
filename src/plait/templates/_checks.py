"""The templates battery's check: HTML templates autoescape."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from plait._settings import Settings
from plait.checks import Check, Finding

if TYPE_CHECKING:
    from plait._app import App

__all__ = ["CHECKS"]


def _autoescape(app: App, settings: Settings) -> Iterator[Finding]:
    from plait.templates._templates import Templates

    templates = getattr(app.state, "templates", None)
    if not isinstance(templates, Templates):
        return
    autoescape = templates.env.autoescape
    escapes = autoescape("page.html") if callable(autoescape) else autoescape
    if not escapes:
        yield Finding(
            "templates.E001",
            "error",
            "HTML templates are not autoescaped: any value a user typed can inject script",
            "drop autoescape=False from Templates(...); mark trusted HTML with |safe instead",
        )


CHECKS = [Check(_autoescape)]
