"""The ASGI callable shape shared by the app, routers, mounts and every middleware, and the
shape of ``request.session``."""

from __future__ import annotations

from collections.abc import (
    Awaitable,
    Callable,
    ItemsView,
    Iterator,
    KeysView,
    MutableMapping,
    ValuesView,
)
from typing import Any, Protocol

__all__ = ["ASGIApp", "Message", "Receive", "Scope", "Send", "SessionProtocol"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class SessionProtocol(Protocol):
    """What ``request.session`` is: a mapping of JSON values that knows when it changed, with
    Django's ``cycle_key()`` and ``flush()``. ``plait.sessions.SessionData`` implements it;
    the core types the session with this protocol so it never imports the battery::

        @app.post("/login")
        async def login(request: Request) -> None:
            request.session.cycle_key()      # no isinstance needed under mypy
            request.session["user"] = "ada"
    """

    modified: bool
    """Whether the session is saved (and its cookie sent) with the response."""

    def __getitem__(self, key: str) -> Any: ...
    def __setitem__(self, key: str, value: Any) -> None: ...
    def __delitem__(self, key: str) -> None: ...
    def __contains__(self, key: object) -> bool: ...
    def __iter__(self) -> Iterator[str]: ...
    def __len__(self) -> int: ...
    def get(self, key: str, default: Any = None) -> Any: ...
    def pop(self, key: str, default: Any = ...) -> Any: ...
    def setdefault(self, key: str, default: Any = None) -> Any: ...
    def keys(self) -> KeysView[str]: ...
    def items(self) -> ItemsView[str, Any]: ...
    def values(self) -> ValuesView[Any]: ...
    def clear(self) -> None: ...

    def cycle_key(self) -> None:
        """A new session id, the same data (call it when the user logs in)."""

    def flush(self) -> None:
        """Drop the data and the id (call it when the user logs out)."""
