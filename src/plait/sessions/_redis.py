"""``RedisStore``: sessions in Redis, each key expiring with its session."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from plait import BackingService, Settings
from plait._optional import require
from plait.sessions._stores import SessionStore, decode, encode

if TYPE_CHECKING:
    import redis.asyncio

__all__ = ["RedisStore"]


class RedisStore(SessionStore):
    """Sessions in Redis (redis-py's asyncio client), for apps on several processes or hosts::

        from plait.sessions import RedisStore, Sessions

        Sessions(app, store=RedisStore("redis://localhost:6379/0"))

    Pass a URL (the store opens a client on first use and closes it at shutdown), your own
    ``redis.asyncio.Redis`` client (yours to close), or nothing for the settings'
    ``REDIS_URL`` (``PLAIT_REDIS_URL``). Each session is one key,
    ``prefix + session id``, holding JSON and expiring after the session's ``max_age``.
    Needs ``pip install 'plait[redis]'``.

    While Redis can't be reached, requests that need their session are answered 503 with
    ``Retry-After`` (:class:`plait.BackingService`): one log line per outage, and the first
    request after Redis is back succeeds. A client opened from a URL gives up connecting or
    waiting for an answer after ``timeout`` seconds, so a Redis that hangs is an outage too.
    """

    def __init__(
        self,
        client: redis.asyncio.Redis | str | None = None,
        *,
        prefix: str = "plait:session:",
        timeout: float = 3.0,
    ) -> None:
        require("redis", "redis", "RedisStore")
        if client is None:
            client = Settings.load(check=False).REDIS_URL
            if not client:
                raise ValueError("RedisStore needs a Redis URL or client (or REDIS_URL set)")
        self.prefix = prefix
        self.timeout = timeout
        self.service = BackingService.redis("Redis (sessions)")
        """Turns Redis outages into 503s (see :class:`plait.BackingService`)."""
        self._url: str | None = client if isinstance(client, str) else None
        self._client: redis.asyncio.Redis | None = None if isinstance(client, str) else client

    @property
    def client(self) -> redis.asyncio.Redis:
        """The Redis client (opened from the URL on first use)."""
        if self._client is None:
            import redis.asyncio

            assert self._url is not None
            self._client = redis.asyncio.from_url(
                self._url, socket_connect_timeout=self.timeout, socket_timeout=self.timeout
            )
        return self._client

    async def load(self, key: str) -> dict[str, Any] | None:
        with self.service:
            raw = await self.client.get(self.prefix + key)
        return None if raw is None else decode(raw)

    async def save(self, key: str, data: dict[str, Any], max_age: int) -> str:
        with self.service:
            await self.client.set(self.prefix + key, encode(data), ex=max_age)
        return key

    async def delete(self, key: str) -> None:
        with self.service:
            await self.client.delete(self.prefix + key)

    async def close(self) -> None:
        """Close the client the store opened from a URL (a client you passed stays open)."""
        if self._url is not None and self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
