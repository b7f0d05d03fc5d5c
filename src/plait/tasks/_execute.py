"""Running one attempt of a task: its dependencies, its timeout, and its log lines.

Shared by the embedded runner and the broker's worker, so a task behaves the same way
wherever it runs. The enqueuing request's id and the task's id are in a context variable
while it runs; :func:`install_log_context` puts them on every log record as
``record.request_id`` and ``record.task_id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, NamedTuple

from plait import App
from plait.tasks._inject import Resolver, task_request

if TYPE_CHECKING:
    from plait.tasks._task import Task

__all__ = [
    "TaskInfo",
    "TaskTimeout",
    "backoff",
    "current_request_id",
    "current_task",
    "install_log_context",
    "request_state",
    "run_attempt",
]

logger = logging.getLogger("plait.tasks")


class TaskTimeout(TimeoutError):
    """A task ran longer than its ``timeout``; it was cancelled (and retried if it can be)."""


class TaskInfo(NamedTuple):
    """What a running task knows about itself: see :func:`current_task`."""

    id: str
    name: str
    attempt: int
    request_id: str | None


_task: ContextVar[TaskInfo | None] = ContextVar("plait_task", default=None)
request_state: ContextVar[dict[str, Any] | None] = ContextVar("plait_request_state", default=None)
"""The ``scope["state"]`` of the request being served (set by the Tasks middleware)."""


def current_task() -> TaskInfo | None:
    """The task running in this context (its id, name, attempt and request id), if any."""
    return _task.get()


def current_request_id() -> str | None:
    """The id of the request being served (``RequestIDMiddleware``) or of the task's."""
    info = _task.get()
    if info is not None:
        return info.request_id
    state = request_state.get()
    if state is None:
        return None
    value = state.get("request_id")
    return value if isinstance(value, str) else None


_installed = False


def install_log_context() -> None:
    """Give every log record ``request_id`` and ``task_id`` attributes (``None`` outside),
    and ``plait_context``: `` [task ID, request ID]`` inside a task (for log formats)."""
    global _installed
    if _installed:
        return
    _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        info = _task.get()
        record.task_id = info.id if info is not None else None
        record.request_id = request_id = current_request_id()
        if info is not None:
            record.plait_context = f" [task {info.id}, request {request_id or '-'}]"
        else:
            record.plait_context = f" [request {request_id}]" if request_id else ""
        return record

    logging.setLogRecordFactory(factory)


def backoff(attempt: int, base: float, cap: float) -> float:
    """Seconds before the next try: exponential in ``attempt`` (1, 2, …), with jitter.

    ``base * 2**(attempt-1)``, capped at ``cap``, then scaled by a random factor in
    [0.5, 1) ("equal jitter"), so that tasks failing together don't retry together.
    """
    grown: float = base * 2.0 ** (attempt - 1)
    return min(cap, grown) * random.uniform(0.5, 1.0)


async def run_attempt(
    app: App | None,
    task: Task[Any],
    arguments: bytes,
    *,
    task_id: str,
    attempt: int,
    request_id: str | None,
) -> Any:
    """Run ``task`` once with its encoded ``arguments``; return its result or raise."""
    kwargs = task.decode(arguments)
    token = _task.set(TaskInfo(task_id, task.name, attempt, request_id))
    started = time.perf_counter()
    where = f"task {task.name}[{task_id}] (attempt {attempt}, request {request_id or '-'})"
    try:
        timer = asyncio.timeout(task.timeout)
        try:
            async with timer, contextlib.AsyncExitStack() as stack:
                resolver = Resolver(app, task_request(app, task.name, request_id), stack)
                for name, marker in task.dependencies:
                    kwargs[name] = await resolver.resolve(marker, f"task {task.name}")
                if task.is_async:
                    result = await task.func(**kwargs)
                else:
                    result = await asyncio.to_thread(task.func, **kwargs)
        except TimeoutError:
            if not timer.expired():
                raise
            raise TaskTimeout(
                f"{task.name} ran longer than its timeout of {task.timeout} s"
            ) from None
    except Exception as exc:
        elapsed = time.perf_counter() - started
        logger.warning("%s failed after %.3f s: %s: %s", where, elapsed, type(exc).__name__, exc)
        _task.reset(token)
        raise
    logger.info("%s done in %.3f s", where, time.perf_counter() - started)
    _task.reset(token)
    return result
