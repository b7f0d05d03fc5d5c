"""The routes that serve the OpenAPI document and the docs pages, added when the app builds.

``App(openapi_url=..., docs_url=..., redoc_url=...)`` choose the URLs (``None`` turns one off;
no ``openapi_url`` turns all three off). None of these routes is in the document itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from plait._exceptions import HTTPException
from plait._request import Request
from plait._responses import HTMLResponse, Response
from plait._routing import Route
from plait.openapi._generator import openapi_json, openapi_schema
from plait.openapi._ui import (
    MISSING_ASSETS,
    AssetStore,
    oauth2_redirect_html,
    redoc_html,
    redoc_store,
    swagger_store,
    swagger_ui_html,
)

if TYPE_CHECKING:
    from plait._app import App

__all__ = ["add_docs_routes"]

_IMMUTABLE = "public, max-age=31536000, immutable"


def add_docs_routes(app: App) -> None:
    """Register ``openapi_url``, ``docs_url`` and ``redoc_url`` (and their assets) on ``app``.

    A GET route the user registered on one of these paths wins: its generated twin is
    simply not added (rather than failing start-up with a route conflict).
    """
    if app.openapi_url is None or any(r.name == "plait.openapi" for r in app.routes):
        return  # off, or added by an earlier build that failed further on
    taken = {r.path for r in app.routes if isinstance(r, Route) and "GET" in r.methods}
    site = _DocsSite(app, app.openapi_url)

    def add(path: str, endpoint: Any, name: str) -> None:
        if path not in taken:
            app.add_route(path, endpoint, name=name, include_in_schema=False)

    add(app.openapi_url, site.openapi, "plait.openapi")
    if app.docs_url is not None:
        base = app.docs_url.rstrip("/")
        add(app.docs_url, site.swagger_ui, "plait.swagger_ui")
        add(
            f"{base}/oauth2-redirect",
            site.swagger_oauth2_redirect,
            "plait.swagger_ui_oauth2_redirect",
        )
        add(base + "/static/{filename}", site.swagger_static, "plait.swagger_ui_static")
    if app.redoc_url is not None:
        base = app.redoc_url.rstrip("/")
        add(app.redoc_url, site.redoc, "plait.redoc")
        add(base + "/static/{filename}", site.redoc_static, "plait.redoc_static")


def _static_response(store: AssetStore, filename: str) -> Response:
    if not store.installed and filename != store.init_name:
        raise HTTPException(503, MISSING_ASSETS)
    asset = store.get(filename)
    if asset is None:
        raise HTTPException(404)
    return Response(asset.body, media_type=asset.media_type, headers={"Cache-Control": _IMMUTABLE})


def _root(request: Request) -> str:
    root: str = request.scope.get("root_path", "")
    return root


class _DocsSite:
    """The handlers; URLs in pages are prefixed with the request's ``root_path``."""

    def __init__(self, app: App, openapi_url: str) -> None:
        self.app = app
        self.openapi_url = openapi_url
        self.swagger = swagger_store()
        self.redoc_assets = redoc_store()

    async def openapi(self, request: Request) -> Response:
        root = _root(request)
        if root and not self.app.servers:
            # Behind a proxy prefix (or mounted), tell the UIs where the operations live.
            document = dict(openapi_schema(self.app))
            rest = {k: v for k, v in document.items() if k not in ("openapi", "info")}
            document = {
                "openapi": document["openapi"],
                "info": document["info"],
                "servers": [{"url": root}],
                **rest,
            }
            return Response(msgspec.json.encode(document), media_type="application/json")
        return Response(openapi_json(self.app), media_type="application/json")

    async def swagger_ui(self, request: Request) -> Response:
        if not self.swagger.installed:
            raise HTTPException(503, MISSING_ASSETS)
        assert self.app.docs_url is not None
        root = _root(request) + self.app.docs_url.rstrip("/")
        page = swagger_ui_html(
            title=self.app.title,
            openapi_url=_root(request) + self.openapi_url,
            static_url=root + "/static",
            oauth2_redirect_url=root + "/oauth2-redirect",
            store=self.swagger,
        )
        return HTMLResponse(page)

    async def swagger_oauth2_redirect(self, request: Request) -> Response:
        if not self.swagger.installed:
            raise HTTPException(503, MISSING_ASSETS)
        assert self.app.docs_url is not None
        static_url = _root(request) + self.app.docs_url.rstrip("/") + "/static"
        return HTMLResponse(oauth2_redirect_html(static_url=static_url, store=self.swagger))

    async def swagger_static(self, request: Request, filename: str) -> Response:
        return _static_response(self.swagger, filename)

    async def redoc(self, request: Request) -> Response:
        if not self.redoc_assets.installed:
            raise HTTPException(503, MISSING_ASSETS)
        assert self.app.redoc_url is not None
        page = redoc_html(
            title=self.app.title,
            openapi_url=_root(request) + self.openapi_url,
            static_url=_root(request) + self.app.redoc_url.rstrip("/") + "/static",
            store=self.redoc_assets,
        )
        return HTMLResponse(page)

    async def redoc_static(self, request: Request, filename: str) -> Response:
        return _static_response(self.redoc_assets, filename)
