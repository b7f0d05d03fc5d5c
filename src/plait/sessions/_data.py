"""``SessionData``: the per-request session, a mapping that knows whether it changed."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

from plait import ServiceUnavailable

__all__ = ["SessionData", "UnreachableSession"]

_MISSING: Any = object()


class SessionData(MutableMapping[str, Any]):
    """The session of one request (``request.session``): a dict of JSON-serialisable values.

    It is written back to the store, and the cookie sent, only when it changed::

        @app.post("/cart")
        async def add(request: Request, item: str) -> dict:
            cart = request.session.get("cart", [])
            request.session["cart"] = [*cart, item]    # assigning marks it modified
            return {"items": len(request.session["cart"])}

    Changing a value in place (``session["cart"].append(...)``) is not seen: assign the key
    again, or set ``session.modified = True``. Call :meth:`cycle_key` when the user logs in
    (a new session id, same data: no session fixation) and :meth:`flush` when they log out.
    """

    __slots__ = ("_data", "accessed", "key", "modified", "old_keys")

    def __init__(self, data: dict[str, Any] | None = None, key: str | None = None) -> None:
        self._data: dict[str, Any] = data if data is not None else {}
        self.key = key
        """The id the store knows this session by (``None`` for a new one, or after
        :meth:`cycle_key` / :meth:`flush`: a new id is chosen when it is saved)."""
        self.modified = False
        """Whether the session is saved (and its cookie sent) with the response."""
        self.accessed = False
        """Whether the handler read or wrote the session (the response then varies by Cookie)."""
        self.old_keys: list[str] = []
        """Ids given up by :meth:`cycle_key` and :meth:`flush`, deleted from the store."""

    # PERF: plain dict operations plus a flag; no copy of the data is made per request.
    def __getitem__(self, key: str) -> Any:
        self.accessed = True
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.accessed = self.modified = True
        self._data[key] = value

    def __delitem__(self, key: str) -> None:
        self.accessed = self.modified = True
        del self._data[key]

    def __iter__(self) -> Iterator[str]:
        self.accessed = True
        return iter(self._data)

    def __len__(self) -> int:
        self.accessed = True
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        self.accessed = True
        return key in self._data

    def get(self, key: str, default: Any = None) -> Any:
        self.accessed = True
        return self._data.get(key, default)

    def pop(self, key: str, default: Any = _MISSING) -> Any:
        """Remove ``key`` and return its value; the session is modified only if it was there."""
        self.accessed = True
        if key in self._data:
            self.modified = True
            return self._data.pop(key)
        if default is _MISSING:
            raise KeyError(key)
        return default

    def clear(self) -> None:
        self.accessed = True
        if self._data:
            self.modified = True
            self._data.clear()

    def to_dict(self) -> dict[str, Any]:
        """The data as a plain dict (the session's own: copy it before changing it)."""
        return self._data

    def cycle_key(self) -> None:
        """Give the session a new id and keep its data (call it when the user logs in)."""
        self.accessed = self.modified = True
        if self.key is not None:
            self.old_keys.append(self.key)
            self.key = None

    def flush(self) -> None:
        """Drop the data and the id (call it when the user logs out): the stored session is
        deleted and the cookie expired, unless something is stored in the session again."""
        self._data.clear()
        self.cycle_key()

    def __repr__(self) -> str:
        return f"SessionData({self._data!r}, modified={self.modified})"


class UnreachableSession(SessionData):
    """The session of a request whose store could not be reached (a Redis outage): any use
    of it answers the request 503 with ``Retry-After``, while pages that never touch the
    session are served as usual."""

    __slots__ = ("error",)

    def __init__(self, error: ServiceUnavailable) -> None:
        self.error = error
        super().__init__()

    @property
    def _data(self) -> dict[str, Any]:
        error = self.error
        raise ServiceUnavailable(error.service, retry_after=error.retry_after, detail=error.detail)

    @_data.setter
    def _data(self, value: dict[str, Any]) -> None:
        pass
