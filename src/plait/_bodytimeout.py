"""The request-body read timeout: one watchdog timer per event loop, not one per read.

A client that stops sending its body must not hold a worker's slot for ever (issue 12), so a
read that waits longer than ``body_timeout`` seconds for the next piece ends in a 408. Giving
every ``receive()`` its own ``asyncio.timeout`` cost ~5k instructions per request (a timer
handle scheduled and cancelled each time); here a read costs a dict store and a pop, and one
timer per event loop wakes up once a second, only while reads are waiting, to cancel the
ones past their deadline.
"""

from __future__ import annotations

import asyncio
from typing import Any

from plait._exceptions import HTTPException

__all__ = ["BodyWatch", "body_watch"]

_TICK = 1.0  # seconds between checks: a read ends between ``seconds`` and ``seconds + 1`` late
_get_running_loop = asyncio._get_running_loop  # PERF: None without a loop, no exception raised


class BodyWatch:
    """The reads waiting in one event loop, each with its deadline."""

    __slots__ = ("expired", "handle", "loop", "waiting")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.waiting: dict[asyncio.Task[Any], float] = {}
        self.expired: set[asyncio.Task[Any]] = set()
        self.handle: asyncio.TimerHandle | None = None

    def _tick(self) -> None:
        now = self.loop.time()
        for task, deadline in list(self.waiting.items()):
            if deadline <= now:
                del self.waiting[task]
                self.expired.add(task)
                task.cancel()
        self.handle = self.loop.call_later(_TICK, self._tick) if self.waiting else None

    async def receive(self, receive: Any, seconds: float) -> Any:
        """``await receive()``, refused with a 408 after ``seconds`` (the task's cancellation
        is taken back)."""
        task = asyncio.current_task(self.loop)
        if task is None:
            return await receive()
        self.waiting[task] = self.loop.time() + seconds
        if self.handle is None:
            self.handle = self.loop.call_later(_TICK, self._tick)
        try:
            return await receive()
        except asyncio.CancelledError:
            if task not in self.expired:
                raise
            self.expired.discard(task)
            task.uncancel()
            raise HTTPException(
                408, f"The request body did not arrive in time ({seconds:g} s without data)"
            ) from None
        finally:
            self.waiting.pop(task, None)


_current: BodyWatch | None = None


def body_watch() -> BodyWatch | None:
    """The running event loop's watch (``None`` outside asyncio: trio, or a coroutine
    driven by hand, where no timeout can be set)."""
    global _current
    loop = _get_running_loop()
    if loop is None:
        return None
    watch = _current
    if watch is None or watch.loop is not loop:
        # One slot: tests and threads switch loops now and then; a new watch is cheap.
        watch = _current = BodyWatch(loop)
    return watch
