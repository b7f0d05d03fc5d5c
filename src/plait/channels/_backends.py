"""Where published messages travel: this process only, or every node through Redis pub/sub."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from plait._concurrency import cancel_and_wait
from plait._optional import require
from plait._outages import BackingService

if TYPE_CHECKING:
    import redis.asyncio

__all__ = ["ChannelBackend", "Deliver", "MemoryBackend", "RedisBackend"]

logger = logging.getLogger("plait.channels")

Deliver = Callable[[str, bytes], None]
"""Called by a backend for each message that reaches this node: ``deliver(group, payload)``."""


class ChannelBackend:
    """The small interface every backend implements.

    ``start`` receives the node's ``deliver`` function; ``publish`` must get the payload to
    the ``deliver`` of every node (this one included) that subscribed to the group;
    ``subscribe``/``unsubscribe`` are called when a group gets its first local subscriber
    and loses its last one.
    """

    async def start(self, deliver: Deliver) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def publish(self, group: str, payload: bytes) -> None:
        raise NotImplementedError

    async def subscribe(self, group: str) -> None:
        raise NotImplementedError

    async def unsubscribe(self, group: str) -> None:
        raise NotImplementedError


class MemoryBackend(ChannelBackend):
    """One process: ``publish`` hands the message straight to this node's subscribers.

    The default, for development, tests and single-process deployments.
    """

    def __init__(self) -> None:
        self._deliver: Deliver | None = None

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver

    async def stop(self) -> None:
        self._deliver = None

    async def publish(self, group: str, payload: bytes) -> None:
        if self._deliver is not None:
            self._deliver(group, payload)

    async def subscribe(self, group: str) -> None:
        pass

    async def unsubscribe(self, group: str) -> None:
        pass


class RedisBackend(ChannelBackend):
    """Every node: Redis pub/sub (``PUBLISH`` / ``SUBSCRIBE``) through redis-py's asyncio client.

    Each node holds one subscriber connection and subscribes to the Redis channel
    ``prefix + group`` while it has local subscribers to the group, so Redis sends a message
    only to the nodes that want it. Delivery is at most once, like a WebSocket itself: a node
    that is disconnected from Redis misses what was published meanwhile (see
    docs/decisions.md for why pub/sub and not Streams). The reader reconnects by itself and
    subscribes again. An outage is :class:`plait.BackingService`'s: ``publish`` and
    ``subscribe`` raise ``ServiceUnavailable`` (503 with ``Retry-After``), and the log gets
    one line when it starts and one when Redis is back. ``client_options`` go to
    ``redis.asyncio.from_url`` (``client_name=...``, ``ssl_ca_certs=...``).
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "plait:channels:",
        socket_timeout: float = 3.0,
        **client_options: Any,
    ) -> None:
        require("redis", "redis", "RedisBackend")
        self.url = url
        self.client_options = client_options
        self.prefix = prefix
        self.socket_timeout = socket_timeout
        self._client: redis.asyncio.Redis | None = None
        self._pubsub: redis.asyncio.client.PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._deliver: Deliver | None = None
        self._groups: set[str] = set()
        self._subscribed = asyncio.Event()
        self.service = BackingService.redis("Redis (channels)")

    @property
    def client(self) -> redis.asyncio.Redis:
        if self._client is None:
            import redis.asyncio

            self._client = redis.asyncio.from_url(
                self.url,
                socket_timeout=self.socket_timeout,
                socket_connect_timeout=self.socket_timeout,
                **self.client_options,
            )
        return self._client

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver
        self._subscribed = asyncio.Event()
        self._pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self._reader = asyncio.create_task(self._read(), name="plait.channels redis reader")

    async def stop(self) -> None:
        reader, self._reader = self._reader, None
        await cancel_and_wait(reader)
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
        self._groups.clear()

    async def publish(self, group: str, payload: bytes) -> None:
        with self.service:
            await self.client.publish(self.prefix + group, payload)

    async def subscribe(self, group: str) -> None:
        if self._pubsub is None:
            raise RuntimeError("The channels backend is not started (is the app running?)")
        self._groups.add(group)
        try:
            with self.service:
                await self._pubsub.subscribe(self.prefix + group)
        except BaseException:
            self._groups.discard(group)
            raise
        self._subscribed.set()

    async def unsubscribe(self, group: str) -> None:
        self._groups.discard(group)
        if self._pubsub is not None and _connected(self._pubsub):
            import redis

            with contextlib.suppress(redis.RedisError, OSError):
                await self._pubsub.unsubscribe(self.prefix + group)

    async def _read(self) -> None:
        cut = len(self.prefix)
        delay = 0.1
        while True:
            await self._subscribed.wait()
            pubsub = self._pubsub
            assert pubsub is not None
            if not _connected(pubsub) and not self._groups:
                self._subscribed.clear()
                continue
            try:
                if not _connected(pubsub):  # reconnect: subscribe again to every group
                    await pubsub.subscribe(*(self.prefix + g for g in self._groups))
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            except Exception as exc:
                if self.service.is_outage(exc):
                    self.service.failed(exc)  # logged once per outage
                else:
                    logger.exception("plait.channels: reading from Redis failed")
                with contextlib.suppress(Exception):
                    await pubsub.reset()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self.service.succeeded()
            delay = 0.1
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"]
            group = (channel.decode() if isinstance(channel, bytes) else channel)[cut:]
            if self._deliver is not None:
                self._deliver(group, message["data"])


def _connected(pubsub: Any) -> bool:
    return getattr(pubsub, "connection", None) is not None
