"""Serve a WSGI app (Flask, Django…) inside a plait app, to migrate one route at a time.

The bridge is `a2wsgi <https://github.com/abersheeran/a2wsgi>`_ (``pip install 'plait[wsgi]'``),
imported only when a :class:`WSGIMiddleware` is created::

    from flask import Flask
    from plait import App
    from plait.wsgi import WSGIMiddleware

    legacy = Flask(__name__)

    @legacy.get("/hello")
    def hello() -> str:
        return "Hello from Flask"

    app = App()
    app.mount("/legacy", WSGIMiddleware(legacy))  # GET /legacy/hello is Flask's

Flask sees ``SCRIPT_NAME="/legacy"`` and ``PATH_INFO="/hello"``, so its ``url_for`` builds
URLs under the prefix. Each WSGI call runs in a pool of ``workers`` threads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plait._optional import MissingDependencyError

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

    from plait.types import Receive, Scope, Send

__all__ = ["MissingDependencyError", "WSGIMiddleware"]


class WSGIMiddleware:
    """An ASGI app that runs a WSGI app in a thread pool (a thin wrapper over a2wsgi's)."""

    def __init__(self, app: WSGIApplication, workers: int = 10, send_queue_size: int = 10) -> None:
        try:  # a2wsgi is optional (the wsgi extra)
            from a2wsgi import WSGIMiddleware as A2WSGIMiddleware
        except ImportError as exc:
            raise MissingDependencyError(
                "plait.wsgi.WSGIMiddleware needs a2wsgi: pip install 'plait[wsgi]'"
            ) from exc
        self.app = app
        # a2wsgi declares its own WSGI types, equivalent to the standard library's.
        self._asgi = A2WSGIMiddleware(
            app,  # type: ignore[arg-type]
            workers=workers,
            send_queue_size=send_queue_size,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._asgi(scope, receive, send)  # type: ignore[arg-type]
