"""What every observability middleware reads from a finished request: its route template
and its status."""

from __future__ import annotations

from plait.types import Message, Scope, Send

__all__ = ["UNMATCHED", "StatusSend", "route_template"]

UNMATCHED = "<unmatched>"
"""The route label of requests no route matched (404s, mounts): never the raw path, which
would give one time series per URL a scanner tries."""


def route_template(scope: Scope) -> str:
    """The template of the route that served ``scope`` ("/items/{item_id:int}")."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class StatusSend:
    """``send`` passed on to the app, noting the response's ``status`` (0 until it starts)."""

    __slots__ = ("send", "status")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.status = 0

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        await self.send(message)
