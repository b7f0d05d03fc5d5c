"""The per-request globals every template sees, read from scope keys set by other batteries.

Nothing here imports another battery: ``csrf_token`` reads ``scope["csrf_token"]`` (plait.csrf),
``current_user`` is ``scope.get("user")`` (plait.auth) and ``get_flashed_messages`` pops
``scope["session"]["_flashes"]`` (plait.sessions).
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any
from urllib.parse import quote

from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from plait import App, Request

__all__ = [
    "REQUEST_GLOBALS",
    "csrf_input",
    "csrf_token",
    "get_flashed_messages",
    "static",
    "static_url",
    "url_for",
]

_NO_CSRF = (
    "csrf_token() needs the CSRF middleware: add CSRF(app) (from plait.csrf) before the app starts"
)


# RFC 3986 pchar plus "/": what a path may carry unencoded.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def _request(context: Context, what: str) -> Request:
    request = context.get("request")
    if not isinstance(request, Request):
        raise RuntimeError(
            f"{what} in a template needs the request: render with templates.render(request, ...)"
        )
    return request


@pass_context
def url_for(context: Context, name: str, /, **path_params: Any) -> str:
    """The path of the route called ``name`` (with the app's ``root_path``), like Flask's:
    parameters are percent-encoded (``/`` stays, for ``path`` parameters)."""
    request = context.get("request")
    app: App | None = request.app if isinstance(request, Request) else context.get("_plait_app")
    if app is None:
        raise RuntimeError("url_for() in a template needs the request or an app")
    root = request.scope.get("root_path", "") if isinstance(request, Request) else ""
    return root + quote(app.url_path_for(name, **path_params), safe=_PATH_SAFE)


@pass_context
def static_url(context: Context, path: str, /, name: str = "static") -> str:
    """The URL path of a static file under the mount called ``name`` (``app.static(...,
    name="static")``): its content-hashed name once ``plait collectstatic`` ran and DEBUG is
    off (see ``App.static_url``)."""
    request = context.get("request")
    app: App | None = request.app if isinstance(request, Request) else context.get("_plait_app")
    if app is None:
        raise RuntimeError("static_url() in a template needs the request or an app")
    root = request.scope.get("root_path", "") if isinstance(request, Request) else ""
    return root + quote(app.static_url(path, name=name), safe=_PATH_SAFE)


static = static_url
"""``static('css/app.css')``: the short name of :func:`static_url`."""


@pass_context
def csrf_token(context: Context) -> str:
    """A masked CSRF token for this request (a new one per call; all of them validate)."""
    token: Callable[[], str] | None = _request(context, "csrf_token()").scope.get("csrf_token")
    if token is None:
        raise RuntimeError(_NO_CSRF)
    return token()


@pass_context
def csrf_input(context: Context) -> Markup:
    """``<input type="hidden" name="csrf_token" value="...">`` for a form."""
    token = csrf_token(context)
    return Markup('<input type="hidden" name="csrf_token" value="%s">') % escape(token)


@pass_context
def get_flashed_messages(context: Context) -> list[tuple[str, str]]:
    """The flashed ``(category, message)`` pairs, removed from the session; ``[]`` without it."""
    request = context.get("request")
    if not isinstance(request, Request):
        return []
    session: MutableMapping[str, Any] | None = request.scope.get("session")
    if session is None or "_flashes" not in session:
        return []
    flashes = session.pop("_flashes")
    return [(str(category), str(message)) for category, message in flashes or ()]


REQUEST_GLOBALS: dict[str, Any] = {
    "url_for": url_for,
    "static": static,
    "static_url": static_url,
    "csrf_token": csrf_token,
    "csrf_input": csrf_input,
    "get_flashed_messages": get_flashed_messages,
}
"""Globals added to every environment; ``request`` and ``current_user`` are per render."""
