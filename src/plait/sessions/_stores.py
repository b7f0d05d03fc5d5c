"""Session stores: the tiny interface, the signed-cookie store and the in-memory store."""

from __future__ import annotations

import abc
import base64
import binascii
import hashlib
import hmac
import time
from typing import Any, ClassVar

import msgspec

from plait import Settings

__all__ = ["MAX_COOKIE_SIZE", "CookieStore", "MemoryStore", "SessionStore", "decode", "encode"]

MAX_COOKIE_SIZE = 4093
"""The largest cookie (name, value and attributes) every browser keeps; larger ones are
silently dropped, so :class:`CookieStore` refuses to send them."""

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(dict[str, Any])
_signed_decoder = msgspec.json.Decoder(tuple[int, dict[str, Any]])


def encode(data: dict[str, Any]) -> bytes:
    """Session data as JSON (what the server-side stores keep)."""
    return _encoder.encode(data)


def decode(raw: bytes | str) -> dict[str, Any] | None:
    """Stored JSON back to session data; ``None`` when it is not a JSON object."""
    try:
        return _decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


class SessionStore(abc.ABC):
    """Where session data lives between requests. Subclass it for another backend::

        class MyStore(SessionStore):
            async def load(self, key: str) -> dict[str, Any] | None: ...
            async def save(self, key: str, data: dict[str, Any], max_age: int) -> str: ...
            async def delete(self, key: str) -> None: ...

    ``key`` is the session id (32 random bytes, url-safe) that the cookie carries; ``save``
    returns the value to put in the cookie (the key itself for server-side stores).
    """

    server_side: ClassVar[bool] = True
    """Whether the cookie holds only the session id (``False``: the data itself)."""

    @abc.abstractmethod
    async def load(self, key: str) -> dict[str, Any] | None:
        """The data stored under ``key``, or ``None`` if there is none (or it expired)."""

    @abc.abstractmethod
    async def save(self, key: str, data: dict[str, Any], max_age: int) -> str:
        """Store ``data`` under ``key`` for ``max_age`` seconds; return the cookie value."""

    @abc.abstractmethod
    async def delete(self, key: str) -> None:
        """Forget the data stored under ``key`` (nothing happens if there is none)."""

    async def close(self) -> None:  # noqa: B027 - optional hook, nothing to close by default
        """Release connections at shutdown (the app calls it)."""


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CookieStore(SessionStore):
    """The default store: the session data itself, in a signed and timestamped cookie.

    Like Flask's and Starlette's sessions: nothing is stored on the server, the client can
    read the data (base64 JSON) but not change it, and the expiry time inside the signed
    value is checked on every request. A cookie that was tampered with, signed with another
    key, or expired reads as an empty session. Keep it small: data whose cookie would be over
    :data:`MAX_COOKIE_SIZE` bytes (about 4 KB) is refused with an error; use a server-side
    store (:class:`RedisStore`, :class:`DatabaseStore`) for more. A weak key (short, or a
    placeholder) is refused. The cookie itself cannot be revoked before it expires, but
    plait.auth's logout ends the login in every copy of it (a per-user session generation).

    ::

        Sessions(app, store=CookieStore(secret_key="…"))  # = Sessions(app, secret_key="…")
    """

    server_side: ClassVar[bool] = False

    def __init__(self, secret_key: str, *, salt: str = "plait.sessions") -> None:
        if not secret_key:
            raise ValueError("CookieStore needs a secret_key (set SECRET_KEY in the settings)")
        Settings.check_secret_key(secret_key, name="secret_key")
        # A key of its own, derived from the secret: a signature made for another purpose
        # with the same SECRET_KEY (CSRF tokens, other signed values) is no session cookie.
        self._key = hmac.new(secret_key.encode(), salt.encode(), hashlib.sha256).digest()

    def _sign(self, payload: bytes) -> bytes:
        digest = hmac.new(self._key, payload, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=")

    async def load(self, key: str) -> dict[str, Any] | None:
        # As bytes: whatever characters a client sends are compared, never an error.
        payload, _, signature = key.encode("latin-1", "replace").rpartition(b".")
        if not payload or not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            expires, data = _signed_decoder.decode(_b64decode(payload.decode("ascii")))
        except (binascii.Error, ValueError, msgspec.DecodeError, msgspec.ValidationError):
            return None
        if expires < time.time():
            return None
        return data

    async def save(self, key: str, data: dict[str, Any], max_age: int) -> str:
        payload = _b64encode(_encoder.encode((int(time.time()) + max_age, data)))
        value = f"{payload}.{self._sign(payload.encode('ascii')).decode('ascii')}"
        if len(value) > MAX_COOKIE_SIZE - 100:  # room for the name and the attributes
            raise ValueError(
                f"The session is too large for a cookie ({len(value)} bytes signed; browsers "
                f"drop cookies over {MAX_COOKIE_SIZE}): store less in it, or use a server-side "
                "store such as RedisStore or DatabaseStore"
            )
        return value

    async def delete(self, key: str) -> None:
        """Nothing to do: the response expires the cookie."""


class MemoryStore(SessionStore):
    """Sessions in this process's memory, with expiry: for tests and single-process apps.

    Every worker process has its own, and a restart logs everyone out. At most
    ``max_sessions`` (10,000) are kept: saving one more evicts the least recently saved, so a
    flood of new sessions cannot grow memory without bound (a few MB at the default)::

        Sessions(app, store=MemoryStore())
    """

    def __init__(self, *, max_sessions: int = 10_000) -> None:
        if type(max_sessions) is not int or max_sessions < 1:
            raise ValueError(f"max_sessions must be a positive int, got {max_sessions!r}")
        self.max_sessions = max_sessions
        # Ordered by save: the first entry is the least recently saved.
        self._sessions: dict[str, tuple[float, bytes]] = {}
        self._saves = 0

    async def load(self, key: str) -> dict[str, Any] | None:
        entry = self._sessions.get(key)
        if entry is None:
            return None
        expires, raw = entry
        if expires < time.monotonic():
            del self._sessions[key]
            return None
        # A copy: changes to the request's session are not stored until it is saved.
        return decode(raw)

    async def save(self, key: str, data: dict[str, Any], max_age: int) -> str:
        self._saves += 1
        if self._saves % 1000 == 0:
            self._prune()
        sessions = self._sessions
        sessions.pop(key, None)  # saved again: it moves to the end
        while len(sessions) >= self.max_sessions:
            del sessions[next(iter(sessions))]
        sessions[key] = (time.monotonic() + max_age, encode(data))
        return key

    async def delete(self, key: str) -> None:
        self._sessions.pop(key, None)

    def _prune(self) -> None:
        now = time.monotonic()
        for key in [key for key, (expires, _) in self._sessions.items() if expires < now]:
            del self._sessions[key]

    def __len__(self) -> int:
        """How many sessions are stored (expired ones not yet pruned included)."""
        return len(self._sessions)
