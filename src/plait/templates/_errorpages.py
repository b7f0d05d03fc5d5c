"""Error pages for browsers: ``404.html``, ``403.html``, ``405.html``, ``500.html``… by name.

``Templates(app)`` adds :class:`ErrorPages` to the app (``App.add_error_pages``). For an
error plait answers itself and a client that prefers HTML, the template named after the
status renders with ``status_code``, ``title`` and ``detail`` (empty for a 500: nothing of
the exception reaches the page) beside everything a template sees (``request``,
``current_user``, context processors). Without that template, or when it fails, a plain
page says the status. API clients keep getting problem JSON.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from jinja2 import TemplateNotFound
from markupsafe import Markup

from plait import HTMLResponse, HTTPException, Request

if TYPE_CHECKING:
    from plait.templates._templates import Templates

__all__ = ["ErrorPages", "plain_error_page"]

logger = logging.getLogger("plait.error")

_PLAIN = Markup(
    '<!doctype html>\n<html lang="en">\n<meta charset="utf-8">\n<title>{status} {title}</title>\n'
    "<h1>{status} {title}</h1>\n{detail}</html>\n"
)


def plain_error_page(exc: HTTPException) -> HTMLResponse:
    """A page that only says the status (and the detail, when there is one)."""
    detail = Markup("<p>{}</p>\n").format(exc.detail) if exc.detail is not None else ""
    body = _PLAIN.format(status=exc.status_code, title=exc.title, detail=detail)
    return HTMLResponse(str(body), status_code=exc.status_code)


class ErrorPages:
    """Renders ``<status>.html`` from the app's templates for browsers' errors."""

    def __init__(self, templates: Templates) -> None:
        self.templates = templates
        self._missing: set[str] = set()

    async def __call__(self, request: Request, exc: HTTPException) -> HTMLResponse:
        name = f"{exc.status_code}.html"
        templates = self.templates
        if name in self._missing and not templates.env.auto_reload:
            return plain_error_page(exc)
        context: dict[str, Any] = {
            "status_code": exc.status_code,
            "title": exc.title,
            "detail": "" if exc.detail is None else exc.detail,
        }
        try:
            return templates.render(request, name, context, status_code=exc.status_code)
        except Exception as error:
            if _is_missing(error, name):
                self._missing.add(name)  # PERF: a flood of 404s looks for no file
            else:
                logger.exception("The error page %s failed", name)
            return plain_error_page(exc)


def _is_missing(error: Exception, name: str) -> bool:
    return isinstance(error, TemplateNotFound) and error.name == name
