"""``Channels``: named groups of WebSockets and event streams, and publishing to them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, Literal

from plait._exceptions import WebSocketException
from plait._outages import ServiceUnavailable
from plait._settings import Settings
from plait._sse import EventSourceResponse
from plait._websockets import WebSocket, WebSocketDisconnect, WebSocketState
from plait.channels._backends import ChannelBackend, MemoryBackend, RedisBackend
from plait.channels._message import ChannelMessage, encode_payload
from plait.channels._subscription import Subscription

if TYPE_CHECKING:
    from plait._app import App

__all__ = ["SLOW_CONSUMER", "Channels"]

logger = logging.getLogger("plait.channels")

SLOW_CONSUMER = 1013
"""The close code for a client dropped because it read too slowly (RFC 6455: try again later)."""

_GROUP = re.compile(r"[\x21-\x7e]{1,200}")  # printable ASCII, no spaces: safe in logs and keys


def _check_group(group: str) -> str:
    if not isinstance(group, str) or not _GROUP.fullmatch(group):
        raise ValueError(f"A group name is 1-200 printable ASCII characters, not {group!r}")
    return group


class Channels:
    """Named groups ("room:42") that WebSockets and event streams join; publish reaches all.

    ::

        from plait import App, WebSocket
        from plait.channels import Channels

        app = App()
        channels = Channels(app)   # Redis when REDIS_URL is set, else this process only

        @app.websocket("/rooms/{room}")
        async def room(ws: WebSocket, room: str) -> None:
            await ws.accept()
            async with channels.attach(ws, f"room:{room}"):
                async for text in ws.iter_text():
                    await channels.publish(f"room:{room}", {"text": text})

    ``backend`` is a :class:`MemoryBackend` (one process) or a :class:`RedisBackend` (every
    node); by default Redis when the settings' ``REDIS_URL`` (``PLAIT_REDIS_URL``) is set.
    Each subscriber buffers at most ``max_buffer`` messages; one that falls further behind
    is dropped (a WebSocket is closed with ``slow_close_code``, 1013) so it never holds up
    the others. A message is encoded once, whatever the number of subscribers.
    """

    def __init__(
        self,
        app: App | None = None,
        *,
        backend: ChannelBackend | None = None,
        max_buffer: int = 64,
        slow_close_code: int = SLOW_CONSUMER,
        close_timeout: float = 5.0,
    ) -> None:
        if max_buffer < 1:
            raise ValueError(f"max_buffer must be at least 1, not {max_buffer!r}")
        if backend is None:
            url = Settings.load(check=False).REDIS_URL
            backend = RedisBackend(url) if url else MemoryBackend()
        self.backend = backend
        self.max_buffer = max_buffer
        self.slow_close_code = slow_close_code
        self.close_timeout = close_timeout
        self.dropped = 0
        """How many subscribers were dropped for reading too slowly (since start-up)."""
        self._groups: dict[str, set[Subscription]] = {}
        self._started = False
        self._closers: set[asyncio.Task[None]] = set()
        if app is not None:
            app.on_startup(self.start)
            app.on_shutdown(self.stop)
            app.state.channels = self

    # ---------------------------------------------------------------- life cycle

    async def start(self) -> None:
        """Connect the backend (the app calls this at start-up)."""
        if not self._started:
            await self.backend.start(self._deliver)
            self._started = True

    async def stop(self) -> None:
        """Disconnect the backend (the app calls this at shutdown)."""
        if self._started:
            self._started = False
            await self.backend.stop()

    async def __aenter__(self) -> Channels:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ---------------------------------------------------------------- publishing

    async def publish(self, group: str, message: Any) -> None:
        """Send ``message`` to every subscriber of ``group`` on every node.

        ``str`` and ``bytes`` are sent as they are; anything else is encoded as JSON
        (msgspec), once. Raises ``plait.ServiceUnavailable`` (a 503) when Redis is down.
        """
        payload = encode_payload(message)
        await self.backend.publish(_check_group(group), payload)

    def subscribers(self, group: str) -> int:
        """How many subscribers ``group`` has on this node."""
        return len(self._groups.get(group, ()))

    def _deliver(self, group: str, payload: bytes) -> None:
        subscribers = self._groups.get(group)
        if subscribers:
            message = ChannelMessage(group, payload)  # one for every local subscriber
            for subscription in tuple(subscribers):
                subscription._offer(message)

    # ---------------------------------------------------------------- subscribing

    @contextlib.asynccontextmanager
    async def subscribe(
        self, *groups: str, max_buffer: int | None = None
    ) -> AsyncIterator[Subscription]:
        """Receive the messages of ``groups`` while the block runs::

        async with channels.subscribe("room:42") as subscription:
            async for message in subscription:
                print(message.json())
        """
        if not groups:
            raise TypeError("subscribe() needs at least one group")
        if not self._started:
            raise RuntimeError("Channels is not started: pass the app, or use `async with`")
        subscription = Subscription(
            tuple(_check_group(g) for g in groups), max_buffer or self.max_buffer
        )
        try:
            for group in subscription.groups:
                await self._join(group, subscription)
            yield subscription
        finally:
            for group in subscription.groups:
                await self._leave(group, subscription)

    async def _join(self, group: str, subscription: Subscription) -> None:
        members = self._groups.get(group)
        if members is not None:
            members.add(subscription)
            return
        self._groups[group] = {subscription}
        try:
            await self.backend.subscribe(group)
        except BaseException:
            self._groups.pop(group, None)
            raise

    async def _leave(self, group: str, subscription: Subscription) -> None:
        members = self._groups.get(group)
        if members is None or subscription not in members:
            return
        members.discard(subscription)
        if not members:
            del self._groups[group]
            await self.backend.unsubscribe(group)

    @contextlib.asynccontextmanager
    async def attach(
        self,
        websocket: WebSocket,
        *groups: str,
        mode: Literal["text", "binary"] = "text",
        max_buffer: int | None = None,
    ) -> AsyncIterator[Subscription]:
        """Forward the messages of ``groups`` to an accepted ``websocket`` while the block runs.

        The block is free to read from the WebSocket (and publish what it reads). A client
        that falls ``max_buffer`` messages behind is closed with ``slow_close_code``. When
        Redis is unreachable the WebSocket is closed with 1013 (try again later).
        """
        try:
            context = self.subscribe(*groups, max_buffer=max_buffer)
            subscription = await context.__aenter__()
        except ServiceUnavailable:
            raise WebSocketException(1013, "Channels are unavailable; try again later") from None
        pump = asyncio.create_task(_pump(websocket, subscription, mode))

        def on_drop() -> None:
            self.dropped += 1
            logger.info("plait.channels: dropped a slow client of %s", ", ".join(groups))
            pump.cancel()
            closer = asyncio.create_task(self._close_slow(websocket, pump))
            self._closers.add(closer)
            closer.add_done_callback(self._closers.discard)

        subscription._on_drop = on_drop
        try:
            yield subscription
        finally:
            subscription._on_drop = None
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
            await context.__aexit__(None, None, None)

    async def _close_slow(self, websocket: WebSocket, pump: asyncio.Task[None]) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await pump
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                websocket.close(self.slow_close_code, "Too slow: messages were dropped"),
                self.close_timeout,
            )

    async def event_source(
        self, *groups: str, max_buffer: int | None = None, ping: float | None = 15.0
    ) -> EventSourceResponse:
        """A server-sent-events response streaming the messages of ``groups``::

        @app.get("/rooms/{room}/events")
        async def events(room: str) -> EventSourceResponse:
            return await channels.event_source(f"room:{room}")

        Each message is an event named after its group. The subscription starts before the
        response does, so a Redis outage answers 503; a client that falls behind is
        disconnected (its ``EventSource`` reconnects by itself).
        """
        stack = contextlib.AsyncExitStack()
        subscription = await stack.enter_async_context(
            self.subscribe(*groups, max_buffer=max_buffer)
        )
        return EventSourceResponse(_EventBatches(subscription, stack), ping=ping)


class _EventBatches:
    """The body of :meth:`Channels.event_source`: the group's messages as events.

    ``EventSourceResponse`` hands ``__plait_forward__`` its way of sending one event, and
    the subscription sends each message with it (straight from the publisher while the
    stream is idle, see ``Subscription.forward``); events that piled up go out in one
    write. Iterated instead, each item is every event buffered so far.
    """

    __slots__ = ("_stack", "_subscription")

    def __init__(self, subscription: Subscription, stack: contextlib.AsyncExitStack) -> None:
        self._subscription = subscription
        self._stack = stack

    def __aiter__(self) -> _EventBatches:
        return self

    def __anext__(self) -> Coroutine[Any, Any, bytes]:
        return self._subscription._next_events()

    async def __plait_forward__(self, send_event: Callable[[bytes], Awaitable[None]]) -> None:
        def sender(message: ChannelMessage) -> Awaitable[None]:
            return send_event(message.event)  # PERF: no coroutine frame of ours per delivery

        async def batch(messages: list[ChannelMessage]) -> None:
            await send_event(b"".join([message.event for message in messages]))

        await self._subscription.forward(sender, batch)

    async def aclose(self) -> None:
        await self._stack.aclose()


async def _pump(websocket: WebSocket, subscription: Subscription, mode: str) -> None:
    # PERF: a delivery is the server's own send of the one ASGI message each published
    # message carries (shared by every subscriber), with no frame of WebSocket.send between:
    # a fan-out to a thousand clients runs this a thousand times per message. Once the
    # handler closed the socket, WebSocket.send refuses (RuntimeError) as before; a client
    # that went away makes the server's send raise (OSError), which ends the pump too.
    send = websocket.__plait_sender__()
    connected = WebSocketState.CONNECTED
    text = mode == "text"

    def sender(message: ChannelMessage) -> Awaitable[None]:
        asgi = message._send_text if text else message._send_bytes
        if asgi is None:
            asgi = message._websocket_send(mode)  # the first subscriber builds it
        if websocket.application_state is connected:
            return send(asgi)
        return websocket.send(asgi)

    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        await subscription.forward(sender)
