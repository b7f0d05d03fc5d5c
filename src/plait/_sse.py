"""Server-Sent Events: ``EventSourceResponse`` streams events to a browser's ``EventSource``."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Iterable, Iterator, Mapping
from typing import Any

from plait._background import BackgroundTask
from plait._concurrency import run_in_threadpool
from plait._responses import Response, json_encoder
from plait.types import Receive, Scope, Send

__all__ = ["EventSourceResponse", "ServerSentEvent"]

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_FIELDS = frozenset(["data", "event", "id", "retry", "comment"])
_PING = b": ping\n\n"
_STOP: Any = object()


class ServerSentEvent:
    """One event of a stream (see the WHATWG "server-sent events" format).

    ``data`` may be a ``str`` (sent as is, one ``data:`` line per line) or any value msgspec
    can encode, sent as JSON. ``event`` names the event type; ``id`` sets the client's
    last-event ID; ``retry`` sets its reconnection delay in milliseconds; ``comment`` adds a
    comment line, which clients ignore::

        ServerSentEvent({"price": 42}, event="tick", id="17")
    """

    __slots__ = ("comment", "data", "event", "id", "retry")

    def __init__(
        self,
        data: Any = None,
        *,
        event: str | None = None,
        id: str | int | None = None,
        retry: int | None = None,
        comment: str | None = None,
    ) -> None:
        if event is not None and ("\r" in event or "\n" in event):
            raise ValueError("An SSE event name cannot contain a line break")
        if id is not None:
            id = str(id)
            if "\r" in id or "\n" in id or "\0" in id:
                raise ValueError("An SSE id cannot contain a line break or NUL")
        if retry is not None and (
            not isinstance(retry, int) or isinstance(retry, bool) or retry < 0
        ):
            raise ValueError(f"SSE retry must be a whole number of milliseconds, not {retry!r}")
        self.data = data
        self.event = event
        self.id = id
        self.retry = retry
        self.comment = comment

    def encode(self) -> bytes:
        """The event in wire format, ending with the blank line that dispatches it."""
        lines: list[str] = []
        if self.comment is not None:
            lines.extend(": " + line for line in _LINE_BREAK.split(self.comment))
        if self.id is not None:
            lines.append("id: " + self.id)
        if self.event is not None:
            lines.append("event: " + self.event)
        data = self.data
        if data is not None:
            if not isinstance(data, str):
                data = json_encoder.encode(data).decode()  # JSON never holds a raw line break
            lines.extend("data: " + line for line in _LINE_BREAK.split(data))
        if self.retry is not None:
            lines.append(f"retry: {self.retry}")
        return ("\n".join(lines) + "\n\n").encode()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ServerSentEvent):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={getattr(self, name)!r}"
            for name in ("data", "event", "id", "retry", "comment")
            if getattr(self, name) is not None
        )
        return f"ServerSentEvent({fields})"


def encode_event(item: Any) -> bytes:
    """Encode one item of an event stream: a ``str`` (data), a dict of fields, an event, or
    ``bytes``: an event already in wire format (ending with a blank line), sent as it is."""
    if isinstance(item, bytes):
        return item
    if isinstance(item, str):
        # PERF: plain one-line strings are the common case; skip building an event for them.
        if "\n" not in item and "\r" not in item:
            return b"data: " + item.encode() + b"\n\n"
        return ServerSentEvent(item).encode()
    if isinstance(item, ServerSentEvent):
        return item.encode()
    if isinstance(item, Mapping):
        unknown = set(item) - _FIELDS
        if unknown:
            raise TypeError(
                f"An SSE dict takes the keys {sorted(_FIELDS)}, not {sorted(unknown)}; "
                "to send a dict as JSON data, yield ServerSentEvent(data=...)"
            )
        return ServerSentEvent(**item).encode()
    raise TypeError(
        "An event stream yields str, bytes, dict or ServerSentEvent items, "
        f"not {type(item).__name__}"
    )


async def _sync_items(iterator: Iterator[Any]) -> AsyncIterator[Any]:
    while (item := await run_in_threadpool(next, iterator, _STOP)) is not _STOP:
        yield item


def _close_quietly(iterator: Iterator[Any]) -> None:
    close = getattr(iterator, "close", None)
    if close is not None:
        with contextlib.suppress(ValueError):  # still running in a worker thread
            close()


async def _wait_for_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class _StreamState:
    """What the sending task of an event stream shares with its watcher and pinger."""

    __slots__ = ("gone", "last", "lock", "loop", "pinging", "sending", "streaming")

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.last = self.loop.time()  # when something was last sent
        self.lock = asyncio.Lock()  # held by the pinger while it sends
        self.pinging = False
        self.sending = False  # the stream's task is in send(): no ping is needed
        self.streaming = True
        self.gone = False


async def _ping_while_idle(send: Send, state: _StreamState, ping: float) -> None:
    loop = state.loop
    while True:
        await asyncio.sleep(max(0.0, state.last + ping - loop.time()))
        if loop.time() - state.last >= ping and not state.sending:
            async with state.lock:
                state.pinging = True
                try:
                    await send({"type": "http.response.body", "body": _PING, "more_body": True})
                finally:
                    state.pinging = False
            state.last = loop.time()


class EventSourceResponse(Response):
    """Stream Server-Sent Events from an async or sync iterable.

    Each item is a ``str`` (sent as data), a dict of event fields (``data``, ``event``, ``id``,
    ``retry``, ``comment``) or a :class:`ServerSentEvent`. While the iterable is idle for
    ``ping`` seconds a ``: ping`` comment keeps proxies from closing the connection. When the
    client disconnects the iteration is cancelled and an async generator is closed, so its
    ``finally`` blocks run::

        @app.get("/clock")
        async def clock() -> EventSourceResponse:
            async def ticks():
                while True:
                    yield {"data": {"now": time.time()}, "event": "tick"}
                    await asyncio.sleep(1)

            return EventSourceResponse(ticks())
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        content: AsyncIterable[Any] | Iterable[Any],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        *,
        ping: float | None = 15.0,
        background: BackgroundTask | None = None,
    ) -> None:
        if ping is not None and not ping > 0:
            raise ValueError(f"ping must be a positive number of seconds or None, not {ping!r}")
        self._sync_iterator: Iterator[Any] | None = None
        self.body_iterator: AsyncIterator[Any]
        if isinstance(content, AsyncIterable):
            self.body_iterator = aiter(content)
        else:
            self._sync_iterator = iter(content)
            self.body_iterator = _sync_items(self._sync_iterator)
        self.status_code = status_code
        self.ping = ping
        self.background = background
        self.raw_headers = self._init_headers(headers)
        extra = self.headers
        extra.setdefault("cache-control", "no-cache")
        extra.setdefault("x-accel-buffering", "no")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        try:
            disconnected = scope.get("method") != "HEAD" and await self._stream(receive, send)
        finally:
            await self._close()
        if not disconnected:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        if self.background is not None:
            await self.background()

    async def _stream(self, receive: Receive, send: Send) -> bool:
        """Send every event, pinging while idle; ``True`` if the client went away first.

        PERF: the events are read and sent in this task, with no task or ``asyncio.wait``
        per event (a fan-out sends thousands a second). A watcher task cancels this one when
        the client disconnects, which also stops a generator waiting for its next event; a
        pinger task sends ``: ping`` while the stream is idle, holding a lock so that it
        never sends at the same time as this task (a flag while this task sends, the lock
        only while a ping is on its way).
        """
        task = asyncio.current_task()
        assert task is not None
        state = _StreamState()

        def on_disconnect(watcher: asyncio.Future[None]) -> None:
            if state.streaming and not watcher.cancelled() and watcher.exception() is None:
                state.gone = True
                task.cancel()

        watcher = asyncio.ensure_future(_wait_for_disconnect(receive))
        watcher.add_done_callback(on_disconnect)
        helpers: set[asyncio.Future[Any]] = {watcher}
        if self.ping is not None:
            helpers.add(asyncio.ensure_future(_ping_while_idle(send, state, self.ping)))
        lock = state.lock
        loop = state.loop

        async def send_event(body: bytes) -> None:
            message = {"type": "http.response.body", "body": body, "more_body": True}
            if state.pinging:  # wait for the ping being sent to go first
                async with lock:
                    await send(message)
            else:
                state.sending = True
                try:
                    await send(message)
                finally:
                    state.sending = False
            state.last = loop.time()

        def send_unpinged(body: bytes) -> Awaitable[None]:
            # PERF: the server's send itself, no coroutine frame of ours per event.
            return send({"type": "http.response.body", "body": body, "more_body": True})

        # PERF: without a pinger there is nothing to tell about each send.
        send_one = send_unpinged if self.ping is None else send_event
        forward = getattr(self.body_iterator, "__plait_forward__", None)
        sent = 0
        try:
            if forward is not None:
                # The source sends each event itself (plait.channels: straight from the
                # publisher while this task waits), through the same send_one.
                await forward(send_one)
                return False
            async for item in self.body_iterator:
                await send_one(encode_event(item))
                sent += 1
                if not sent & 15:
                    # A generator that never waits, and a send that never blocks, would
                    # never let the watcher (or anything else) run: yield now and then.
                    await asyncio.sleep(0)
            return False
        except asyncio.CancelledError:
            if not state.gone:
                raise
            task.uncancel()
            return True
        finally:
            state.streaming = False
            for helper in helpers:
                helper.cancel()
            await asyncio.wait(helpers)
            for helper in helpers:
                if not helper.cancelled():
                    helper.exception()  # retrieved, so asyncio does not log it

    async def _close(self) -> None:
        aclose = getattr(self.body_iterator, "aclose", None)
        if aclose is not None:
            await aclose()
        if self._sync_iterator is not None:
            await run_in_threadpool(_close_quietly, self._sync_iterator)
