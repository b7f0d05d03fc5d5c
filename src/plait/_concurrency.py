"""Running blocking code off the event loop, in one bounded thread pool; stopping a
background task."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

__all__ = [
    "cancel_and_wait",
    "iterate_in_threadpool",
    "run_in_threadpool",
    "set_threadpool_size",
]

P = ParamSpec("P")
T = TypeVar("T")

_size = 40
_executor: ThreadPoolExecutor | None = None


def set_threadpool_size(size: int) -> None:
    """Set how many threads sync handlers may use at once (default 40, as AnyIO's limiter)."""
    global _size, _executor
    if size < 1:
        raise ValueError("the thread pool needs at least one thread")
    _size = size
    if _executor is not None:
        _executor.shutdown(wait=False)
        _executor = None


def _get_executor() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=_size, thread_name_prefix="plait-sync")
    return _executor


async def run_in_threadpool(func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Call ``func`` in the bounded pool, carrying the caller's context variables along."""
    ctx = contextvars.copy_context()
    call = functools.partial(ctx.run, func, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_get_executor(), call)


_STOP = object()


def _next(iterator: Iterator[T]) -> Any:
    return next(iterator, _STOP)


async def iterate_in_threadpool(iterator: Iterator[T]) -> Any:
    """Turn a blocking iterator into an async one, each ``next`` in the pool."""
    while True:
        item = await run_in_threadpool(_next, iterator)
        if item is _STOP:
            return
        yield item


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` (a batteries' background loop; ``None``: none runs) and wait until it
    has ended."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
