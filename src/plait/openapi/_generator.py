"""The OpenAPI 3.1 document of an app, generated from its compiled routes and cached.

Routes are read in registration order, so the document (operation ids included) is the same
on every run of the same app.
"""

from __future__ import annotations

import re
import weakref
from typing import TYPE_CHECKING, Any

import msgspec

from plait._responses import HTMLResponse
from plait._routing import Route
from plait._signature import response_type, strip_annotated
from plait.openapi._operation import build_operation
from plait.openapi._schemas import (
    SchemaRegistry,
    add_enum_types,
    clean_component_names,
    markdown_descriptions,
)

if TYPE_CHECKING:
    from plait._app import App

__all__ = ["openapi_json", "openapi_schema"]

OPENAPI_VERSION = "3.1.0"
# The methods an OpenAPI path item can hold, in the order the specification lists them.
_METHODS = ("GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE")


class _Cached:
    __slots__ = ("_body", "document", "routes")

    def __init__(self, routes: tuple[Any, ...], document: dict[str, Any]) -> None:
        self.routes = routes
        self.document = document
        self._body: bytes | None = None

    def fresh(self, routes: tuple[Any, ...]) -> bool:
        return len(routes) == len(self.routes) and all(
            a is b for a, b in zip(routes, self.routes, strict=True)
        )

    @property
    def body(self) -> bytes:
        if self._body is None:
            self._body = msgspec.json.encode(self.document)
        return self._body


_cache: weakref.WeakKeyDictionary[App, _Cached] = weakref.WeakKeyDictionary()


def _cached(app: App) -> _Cached:
    routes = tuple(c for c in app.compiled_routes() if isinstance(c.route, Route))
    entry = _cache.get(app)
    # Compiled routes are rebuilt only when dependency overrides change: then regenerate.
    if entry is None or not entry.fresh(routes):
        entry = _cache[app] = _Cached(routes, _generate(app, routes))
    return entry


def openapi_schema(app: App) -> dict[str, Any]:
    """The OpenAPI 3.1 document describing ``app``'s HTTP routes, as a dict.

    It is generated on first use (the app is built, then frozen) and cached: later calls
    return the same dict. ``App(openapi_url=...)`` serves it; ``plait openapi APP`` prints it::

        from plait.openapi import openapi_schema

        document = openapi_schema(app)
        assert document["info"]["title"] == app.title
    """
    return _cached(app).document


def openapi_json(app: App) -> bytes:
    """:func:`openapi_schema` encoded as JSON (cached too)."""
    return _cached(app).body


def _documented(route: Route) -> bool:
    """Whether the route is in the document: an explicit ``include_in_schema`` decides, else
    every route but HTML pages (``-> HTMLResponse``, ``@templates.page``), not part of an API."""
    if route.include_in_schema is not None:
        return route.include_in_schema
    output = strip_annotated(response_type(route.endpoint, route.response_model))
    html = route.response_class if route.response_class is not None else output
    return not (isinstance(html, type) and issubclass(html, HTMLResponse))


def _generate(app: App, compiled: tuple[Any, ...]) -> dict[str, Any]:
    documented = [
        (c, response_type(c.route.endpoint, c.route.response_model))
        for c in compiled
        if _documented(c.route)
    ]
    operation_ids = _operation_ids([item.route for item, _ in documented])
    schemas = SchemaRegistry()
    security_schemes: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}
    for item, output_type in documented:
        route: Route = item.route
        path_item = paths.setdefault(_template(route), {})
        for method in _methods(route):
            path_item[method.lower()] = build_operation(
                route,
                item.plan,
                operation_ids[id(route), method],
                output_type,
                schemas,
                security_schemes,
                app,
            )
    info: dict[str, Any] = {"title": app.title, "version": app.version}
    if app.description:
        info["description"] = app.description
    document: dict[str, Any] = {"openapi": OPENAPI_VERSION, "info": info}
    if app.servers:
        document["servers"] = [dict(server) for server in app.servers]
    document["paths"] = paths
    components: dict[str, Any] = {}
    component_schemas = schemas.resolve()
    markdown_descriptions(component_schemas)
    if component_schemas:
        components["schemas"] = component_schemas
    if security_schemes:
        components["securitySchemes"] = dict(sorted(security_schemes.items()))
    if components:
        document["components"] = components
    if app.openapi_tags:
        document["tags"] = [dict(tag) for tag in app.openapi_tags]
    clean_component_names(document)
    add_enum_types(document)
    return document


def _template(route: Route) -> str:
    """``/items/{item_id:int}`` -> ``/items/{item_id}``."""
    parts = [seg if isinstance(seg, str) else "{" + seg[0] + "}" for seg in route.segments]
    return "/" + "/".join(parts)


def _methods(route: Route) -> list[str]:
    # Only explicit methods: the automatic HEAD of a GET route is not in route.methods.
    return [method for method in _METHODS if method in route.methods]


def _operation_ids(routes: list[Route]) -> dict[tuple[int, str], str]:
    """Unique operation ids: explicit ones first, then ``{route name}_{method}``, with a
    ``_2``, ``_3``… suffix on repeats, in registration order."""
    taken: set[str] = set()
    ids: dict[tuple[int, str], str] = {}
    pairs = [(route, method) for route in routes for method in _methods(route)]
    pairs.sort(key=lambda pair: pair[0].operation_id is None)  # stable: explicit ones first
    for route, method in pairs:
        if route.operation_id is not None:
            base = route.operation_id
            if len(_methods(route)) > 1:
                base = f"{base}_{method.lower()}"
        else:
            name = str(route.name or getattr(route.endpoint, "__name__", "operation"))
            base = f"{re.sub(r'[^A-Za-z0-9_]', '_', name)}_{method.lower()}"
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base}_{n}", n + 1
        taken.add(candidate)
        ids[id(route), method] = candidate
    return ids
