"""Who a request counts against: its client IP, its signed-in user, or its API key."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Literal

from plait.types import Scope

__all__ = ["KeyFunc", "client_ip", "key_function"]

KeyFunc = Callable[[Scope], str | None]
"""Takes the ASGI scope, returns the identity to count against (``None``: not limited)."""


def client_ip(scope: Scope) -> str:
    """The client's address: the peer, or the client a trusted proxy named (the proxy
    middleware puts it in the scope), never a header a client can set itself."""
    client = scope.get("client")
    return f"ip:{client[0]}" if client else "ip:unknown"


def _user(scope: Scope) -> str:
    user = scope.get("user")
    if user is not None and getattr(user, "is_authenticated", True):
        identity = getattr(user, "id", None)
        if identity is None:
            identity = getattr(user, "pk", None)
        if identity is not None:
            return f"user:{identity}"
    return client_ip(scope)  # anonymous visitors count by address


def _api_key(header: bytes) -> KeyFunc:
    def api_key(scope: Scope) -> str:
        for name, value in scope["headers"]:
            if name == header and value:
                # A digest, so that no credential is ever stored as a Redis key.
                return "key:" + hashlib.sha256(value).hexdigest()[:32]
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                return "key:" + hashlib.sha256(value[7:].strip()).hexdigest()[:32]
        return client_ip(scope)  # no key: counted by address

    return api_key


def key_function(
    key: Literal["ip", "user", "api_key"] | KeyFunc, api_key_header: str = "X-API-Key"
) -> KeyFunc:
    """The key function for ``"ip"``, ``"user"`` (the signed-in user, else the IP),
    ``"api_key"`` (the ``api_key_header`` or a bearer token, else the IP), or your own."""
    if callable(key):
        return key
    if key == "ip":
        return client_ip
    if key == "user":
        return _user
    if key == "api_key":
        return _api_key(api_key_header.lower().encode("latin-1"))
    raise ValueError(f"key must be 'ip', 'user', 'api_key' or a function, not {key!r}")
