"""The request's state, seen by ``enqueue`` (for the request id that tasks carry)."""

from __future__ import annotations

from plait.tasks._execute import request_state
from plait.types import ASGIApp, Receive, Scope, Send

__all__ = ["RequestStateMiddleware"]


class RequestStateMiddleware:
    """Make ``scope["state"]`` of the request being served visible to ``Task.enqueue``.

    ``RequestIDMiddleware`` (wherever it sits) stores the request's id there; a task
    enqueued while serving the request carries it into its log lines.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = request_state.set(scope.setdefault("state", {}))
        try:
            await self.app(scope, receive, send)
        finally:
            request_state.reset(token)
