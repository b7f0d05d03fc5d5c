"""The cache's tiny backend interface and the in-process memory backend."""

from __future__ import annotations

import abc
import time
from collections import OrderedDict

__all__ = ["CacheBackend", "MemoryBackend"]


class CacheBackend(abc.ABC):
    """Where cached bytes live. Six coroutines; subclass it for another store::

        class MyBackend(CacheBackend):
            async def get(self, key: str) -> bytes | None: ...
            async def set(self, key: str, value: bytes, ttl: float | None) -> None: ...
            async def add(self, key: str, value: bytes, ttl: float | None) -> bool: ...
            async def delete(self, key: str) -> bool: ...
            async def incr(self, key: str, delta: int, ttl: float | None) -> int: ...

    Keys arrive with the cache's prefix already on; ``ttl`` is in seconds (``None``: no
    expiry). Values are opaque bytes, except the decimal integers ``incr`` works on.
    """

    @abc.abstractmethod
    async def get(self, key: str) -> bytes | None:
        """The bytes under ``key``, or ``None`` if there are none (or they expired)."""

    @abc.abstractmethod
    async def set(self, key: str, value: bytes, ttl: float | None) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds (``None``: until evicted)."""

    @abc.abstractmethod
    async def add(self, key: str, value: bytes, ttl: float | None) -> bool:
        """Store ``value`` only if ``key`` holds nothing; return whether it was stored."""

    @abc.abstractmethod
    async def delete(self, key: str) -> bool:
        """Forget ``key``; return whether it held something."""

    @abc.abstractmethod
    async def incr(self, key: str, delta: int, ttl: float | None) -> int:
        """Add ``delta`` to the integer under ``key`` (missing: 0) and return the result.

        A key that did not exist gets ``ttl``; a value that is not an integer raises
        :class:`ValueError`.
        """

    async def close(self) -> None:  # noqa: B027 - optional hook, nothing to close by default
        """Release connections at shutdown (``Cache(app)`` calls it)."""


class MemoryBackend(CacheBackend):
    """The default: a dict in this process, least recently used entries evicted first.

    Each worker process has its own; use :class:`RedisBackend` (or set ``REDIS_URL``) to
    share one cache between processes and machines. ``max_entries`` bounds the memory used.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._data: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    def _live(self, key: str) -> bytes | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires and expires <= time.monotonic():
            del self._data[key]
            return None
        self._data.move_to_end(key)
        return value

    def _store(self, key: str, value: bytes, ttl: float | None) -> None:
        expires = time.monotonic() + ttl if ttl else 0.0
        self._data[key] = (expires, value)
        self._data.move_to_end(key)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)

    async def get(self, key: str) -> bytes | None:
        return self._live(key)

    async def set(self, key: str, value: bytes, ttl: float | None) -> None:
        self._store(key, value, ttl)

    async def add(self, key: str, value: bytes, ttl: float | None) -> bool:
        if self._live(key) is not None:
            return False
        self._store(key, value, ttl)
        return True

    async def delete(self, key: str) -> bool:
        return self._data.pop(key, None) is not None

    async def incr(self, key: str, delta: int, ttl: float | None) -> int:
        current = self._live(key)
        if current is None:
            self._store(key, b"%d" % delta, ttl)
            return delta
        try:
            value = int(current) + delta
        except ValueError:
            raise ValueError(f"cache key {key!r} does not hold an integer") from None
        self._data[key] = (self._data[key][0], b"%d" % value)
        return value

    def __len__(self) -> int:
        """How many entries are held (expired ones not yet evicted included)."""
        return len(self._data)
