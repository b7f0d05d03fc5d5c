"""``RedisBackend``: the cache in Redis, shared by every process and machine."""

from __future__ import annotations

from typing import TYPE_CHECKING

from plait import BackingService
from plait._optional import require
from plait.cache._backends import CacheBackend

if TYPE_CHECKING:
    import redis.asyncio
    from redis.commands.core import AsyncScript

__all__ = ["RedisBackend", "redis_client"]

# INCRBY, then an expiry for a key that has none (a new counter): one round trip, atomic.
_INCR = """
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if ARGV[2] ~= '0' and redis.call('PTTL', KEYS[1]) == -1 then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return value
"""


def redis_client(url: str) -> redis.asyncio.Redis:
    """A redis-py asyncio client for ``url`` that gives up on a dead server within seconds
    (redis-py waits forever by default), so an outage is an error, not a hung request."""
    import redis.asyncio

    return redis.asyncio.from_url(
        url, socket_connect_timeout=2, socket_timeout=2, health_check_interval=30
    )


def _ms(ttl: float | None) -> int | None:
    return max(1, int(ttl * 1000)) if ttl else None


class RedisBackend(CacheBackend):
    """The cache in Redis (redis-py's asyncio client)::

        from plait.cache import Cache, RedisBackend

        Cache(app, backend=RedisBackend("redis://localhost:6379/0"))

    Pass a URL (the backend opens a client on first use and closes it at shutdown) or your
    own ``redis.asyncio.Redis`` client (yours to close). ``Cache(app)`` picks this backend by
    itself when ``REDIS_URL`` is set. Needs ``pip install 'plait[redis]'``.

    While Redis can't be reached, every cache call raises :class:`plait.ServiceUnavailable`
    (a 503 with ``Retry-After``), with one log line per outage; the first call after Redis is
    back succeeds (:class:`plait.BackingService`).
    """

    def __init__(self, client: redis.asyncio.Redis | str) -> None:
        require("redis", "redis", "RedisBackend")
        self._url: str | None = client if isinstance(client, str) else None
        self._client: redis.asyncio.Redis | None = None if isinstance(client, str) else client
        self._incr: AsyncScript | None = None
        self.service = BackingService.redis("Redis (cache)")
        """Turns Redis outages into 503s (see :class:`plait.BackingService`)."""

    @property
    def client(self) -> redis.asyncio.Redis:
        """The Redis client (opened from the URL on first use)."""
        if self._client is None:
            assert self._url is not None
            self._client = redis_client(self._url)
        return self._client

    async def get(self, key: str) -> bytes | None:
        with self.service:
            value = await self.client.get(key)
        return value.encode() if isinstance(value, str) else value

    async def set(self, key: str, value: bytes, ttl: float | None) -> None:
        with self.service:
            await self.client.set(key, value, px=_ms(ttl))

    async def add(self, key: str, value: bytes, ttl: float | None) -> bool:
        with self.service:
            return bool(await self.client.set(key, value, px=_ms(ttl), nx=True))

    async def delete(self, key: str) -> bool:
        with self.service:
            return bool(await self.client.delete(key))

    async def incr(self, key: str, delta: int, ttl: float | None) -> int:
        import redis.exceptions

        if self._incr is None:
            self._incr = self.client.register_script(_INCR)
        try:
            with self.service:
                value = await self._incr(keys=[key], args=[delta, _ms(ttl) or 0])
        except redis.exceptions.ResponseError as exc:
            raise ValueError(f"cache key {key!r} does not hold an integer ({exc})") from None
        return int(value)

    async def close(self) -> None:
        """Close the client the backend opened from a URL (a client you passed stays open)."""
        if self._url is not None and self._client is not None:
            client, self._client = self._client, None
            self._incr = None
            await client.aclose()
