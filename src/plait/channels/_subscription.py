"""``Subscription``: one subscriber's bounded buffer, and the direct delivery to an idle one."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Generator
from typing import Any

from plait.channels._message import ChannelMessage

__all__ = ["Batch", "Sender", "Subscription"]

Sender = Callable[[ChannelMessage], Awaitable[None]]
"""Sends one message to a subscriber's client: ``await sender(message)``."""
Batch = Callable[[list[ChannelMessage]], Coroutine[Any, Any, None]]
"""Sends messages that piled up to a subscriber's client at once."""
_DONE = object()  # what next() returns for a send that finished


class Subscription:
    """One subscriber's bounded buffer of messages from its groups.

    Publishing never waits for a subscriber: a message is put in each subscriber's buffer
    at once. A subscriber whose buffer is full (it reads more slowly than messages come) is
    *dropped*: its buffer is emptied, iteration ends and ``dropped`` is true. Others are
    not held up. A subscription has one reader.
    """

    # PERF: a deque and one waiting future, not an asyncio.Queue: a publish to 10,000
    # subscribers runs _offer 10,000 times, and each delivery one get().
    __slots__ = (
        "_buffer", "_handoff", "_max", "_on_drop", "_sender", "_waiter", "dropped", "groups",
    )  # fmt: skip

    def __init__(self, groups: tuple[str, ...], max_buffer: int) -> None:
        self.groups = groups
        self.dropped = False
        self._buffer: deque[ChannelMessage] = deque()
        self._max = max_buffer
        self._waiter: asyncio.Future[None] | None = None
        self._on_drop: Callable[[], None] | None = None
        self._sender: Sender | None = None  # set while forward() runs
        self._handoff: _Resume | BaseException | None = None

    def _offer(self, message: ChannelMessage) -> None:
        if self.dropped:
            return
        waiter = self._waiter
        sender = self._sender
        if sender is not None and waiter is not None and not waiter.done():
            # PERF: the forwarding task sleeps (nothing buffered, no send under way): send
            # right here, in the publisher's task. A fan-out to a thousand WebSockets would
            # otherwise wake a thousand tasks per message. A send that does not have to wait
            # (the client reads, the socket buffer has room) finishes here; one that has to
            # wait (flow control: a slow client) is handed, suspended where it is, to the
            # forwarding task, which finishes it while later messages are buffered, so the
            # publisher never waits for anyone.
            steps = sender(message).__await__()
            try:
                # PERF: next() with a default, not send(None): a send that finishes (the
                # common case) raises no StopIteration, about 800 instructions a delivery.
                pending = next(steps, _DONE)
            except Exception as exc:  # the client went away: the forwarding task raises it
                self._handoff = exc
            else:
                if pending is _DONE:
                    return
                self._handoff = _Resume(steps, pending)
            self._waiter = None
            waiter.set_result(None)
            return
        buffer = self._buffer
        if len(buffer) >= self._max:
            self._drop()
            return
        buffer.append(message)
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _drop(self) -> None:
        self.dropped = True
        self._buffer.clear()
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)  # wakes the reader, which then stops
        if self._on_drop is not None:
            self._on_drop()

    async def get(self) -> ChannelMessage | None:
        """The next message, or ``None`` once the subscriber was dropped."""
        buffer = self._buffer
        while not buffer:
            if self.dropped:
                return None
            # A cancelled wait leaves a done future, which _offer skips.
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            await waiter
        if self.dropped:
            return None
        return buffer.popleft()

    async def forward(self, sender: Sender, batch: Batch | None = None) -> None:
        """Send every message with ``sender`` until the subscriber is dropped.

        While this waits, a publish sends straight from the publisher's task when it can
        (see ``_offer``); what has to wait is finished here, in order. With ``batch``,
        messages that piled up meanwhile go out in one ``batch(messages)`` call.
        """
        buffer = self._buffer
        loop = asyncio.get_running_loop()
        self._sender = sender
        try:
            while True:
                while not buffer and self._handoff is None:
                    if self.dropped:
                        return
                    waiter = self._waiter = loop.create_future()
                    await waiter
                handoff = self._handoff
                if handoff is not None:
                    self._handoff = None
                    if isinstance(handoff, BaseException):
                        raise handoff
                    await handoff
                elif self.dropped:
                    return
                elif batch is not None and len(buffer) > 1:
                    messages = list(buffer)
                    buffer.clear()
                    await batch(messages)
                else:
                    await sender(buffer.popleft())
        finally:
            self._sender = None
            self._handoff = None

    async def _next_events(self) -> bytes:
        """Every buffered message as server-sent events, in one string (waits for one)."""
        buffer = self._buffer
        while not buffer:
            if self.dropped:
                raise StopAsyncIteration
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            await waiter
        if self.dropped:
            raise StopAsyncIteration
        if len(buffer) == 1:
            return buffer.popleft().event
        events = b"".join([message.event for message in buffer])
        buffer.clear()
        return events

    def __aiter__(self) -> AsyncIterator[ChannelMessage]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[ChannelMessage]:
        while (message := await self.get()) is not None:
            yield message


class _Resume:
    """Finish, inside a task, an awaitable that was started outside of one and suspended.

    ``await _Resume(steps, pending)`` is ``yield from steps`` from where it stopped (``steps``
    is the awaitable's ``__await__()`` iterator, a server's send need not be a coroutine):
    ``pending`` (the future it waits on) goes to the task, which wakes it as usual, and what
    the task throws in (a cancellation) goes on to the awaitable.
    """

    __slots__ = ("_pending", "_steps")

    def __init__(self, steps: Generator[Any, None, Any], pending: Any) -> None:
        self._steps = steps
        self._pending = pending

    def __await__(self) -> Generator[Any, None, None]:
        steps, pending = self._steps, self._pending
        while True:
            try:
                yield pending
            except BaseException as exc:
                throw = getattr(steps, "throw", None)
                if throw is None:
                    raise
                try:
                    pending = throw(exc)
                except StopIteration:
                    return
                continue
            pending = next(steps, _DONE)
            if pending is _DONE:
                return
