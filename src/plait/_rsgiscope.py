"""granian's native RSGI scope seen as an ASGI scope, converted lazily.

Requests read an ASGI scope; granian hands over a native object whose headers, addresses
and query string are Python strings. :class:`RSGIScope` is a ``dict`` that fills in each ASGI
key from the native scope on first use, so a request pays only for what it reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from plait._datastructures import Headers, header_separator

if TYPE_CHECKING:
    from _collections_abc import dict_items, dict_keys, dict_values

__all__ = ["HTTP_SCOPE", "RSGIScope", "websocket_scope"]

_ASGI: dict[str, str] = {"version": "3.0", "spec_version": "2.4"}
_HTTP_VERSIONS = {"1": "1.0", "1.0": "1.0", "1.1": "1.1", "2": "2", "3": "3"}
_WS_SCHEMES = {"http": "ws", "https": "wss"}


def _address(value: str) -> tuple[str, int] | None:
    """``"127.0.0.1:8000"`` or ``"[::1]:8000"`` as ASGI's ``(host, port)``."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        return None
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def _headers(scope: RSGIScope) -> list[tuple[bytes, bytes]]:
    # granian has decoded the raw header bytes as UTF-8 (names come lower-cased): encoding
    # them back gives the bytes the client sent, as an ASGI server passes them.
    return [(k.encode(), v.encode()) for k, v in scope.rsgi.headers.items()]


def _subprotocols(scope: RSGIScope) -> list[str]:
    offered = scope.rsgi.headers.get("sec-websocket-protocol")
    return [p.strip() for p in offered.split(",") if p.strip()] if offered else []


_HTTP_LAZY: dict[str, Callable[[RSGIScope], Any]] = {
    "headers": _headers,
    "query_string": lambda scope: scope.rsgi.query_string.encode(),
    "raw_path": lambda scope: quote(scope.rsgi.path, safe="/:@!$&'()*+,;=-._~").encode(),
    "client": lambda scope: _address(scope.rsgi.client),
    "server": lambda scope: _address(scope.rsgi.server),
    "scheme": lambda scope: scope.rsgi.scheme,
    "http_version": lambda scope: _HTTP_VERSIONS.get(scope.rsgi.http_version, "1.1"),
    "extensions": lambda scope: {},
}
_WEBSOCKET_LAZY: dict[str, Callable[[RSGIScope], Any]] = {
    **_HTTP_LAZY,
    "scheme": lambda scope: _WS_SCHEMES.get(scope.rsgi.scheme, scope.rsgi.scheme),
    "subprotocols": _subprotocols,
}
_dict_get = dict.get
_dict_contains = dict.__contains__


class RSGIScope(dict[str, Any]):
    """An ASGI scope over granian's native scope; most keys are converted on first use.

    # PERF: converting every header to bytes and parsing the client and server addresses
    costs more than routing a request, and most handlers never look at them. Reads through
    ``[]``, ``get``, ``in`` and ``setdefault`` convert one key; anything that lists the keys
    or copies the scope (``dict(scope)``, ``{**scope}``, iteration) converts them all first.
    """

    __slots__ = ("rsgi",)
    rsgi: Any
    lazy: dict[str, Callable[[RSGIScope], Any]] = _HTTP_LAZY

    def __missing__(self, key: str) -> Any:
        make = self.lazy.get(key)
        if make is None:
            raise KeyError(key)
        value = self[key] = make(self)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        if key in self.lazy:
            return self[key]
        return _dict_get(self, key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.lazy or _dict_contains(self, key)

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key in self:
            return self[key]
        self[key] = default
        return default

    def rsgi_header(self, name: str) -> str | None:
        """``Headers(self["headers"]).get(name)`` for a lower-case ``name``, without converting
        the other headers (granian's names are lower-case already)."""
        if _dict_contains(self, "headers"):
            return Headers(self["headers"]).get(name)
        values = self.rsgi.headers.get_all(name)
        if not values:
            return None
        if len(values) == 1 and values[0].isascii():
            return values[0]  # type: ignore[no-any-return]
        # As the ASGI path sees them: the UTF-8 bytes the client sent, decoded as Latin-1.
        values = [v if v.isascii() else v.encode().decode("latin-1") for v in values]
        return values[0] if len(values) == 1 else header_separator(name).join(values)

    def materialize(self) -> RSGIScope:
        """Convert every lazy key now (before the scope is copied or handed to ASGI code)."""
        for key, make in self.lazy.items():
            if not _dict_contains(self, key):
                self[key] = make(self)
        return self

    def __iter__(self) -> Iterator[str]:
        return dict.__iter__(self.materialize())

    def __len__(self) -> int:
        return dict.__len__(self.materialize())

    def keys(self) -> dict_keys[str, Any]:
        return dict.keys(self.materialize())

    def values(self) -> dict_values[str, Any]:
        return dict.values(self.materialize())

    def items(self) -> dict_items[str, Any]:
        return dict.items(self.materialize())

    def copy(self) -> dict[str, Any]:
        return dict(self.materialize())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict.__repr__(self.materialize())})"


class _WebSocketScope(RSGIScope):
    __slots__ = ()
    lazy = _WEBSOCKET_LAZY


HTTP_SCOPE: dict[str, Any] = {"type": "http", "asgi": _ASGI, "root_path": ""}
"""The keys every HTTP scope starts with (``method``, ``path`` and ``rsgi`` are set next)."""


def websocket_scope(rsgi: Any) -> RSGIScope:
    """The ASGI scope of a WebSocket connection from granian's native ``rsgi`` scope."""
    scope = _WebSocketScope(type="websocket", asgi=_ASGI, path=rsgi.path, root_path="")
    scope.rsgi = rsgi
    return scope
