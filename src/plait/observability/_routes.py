"""What every observability middleware reads from a finished request: its route template."""

from __future__ import annotations

from plait.types import Scope

__all__ = ["UNMATCHED", "route_template"]

UNMATCHED = "<unmatched>"
"""The route label of requests no route matched (404s, mounts): never the raw path, which
would give one time series per URL a scanner tries."""


def route_template(scope: Scope) -> str:
    """The template of the route that served ``scope`` ("/items/{item_id:int}")."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED
