"""``TaskHandle``: what ``enqueue`` returns, with the task's id and, if kept, its result."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import sqlalchemy as sa

from plait.tasks._records import DONE, FAILED, task_table

if TYPE_CHECKING:
    from plait.tasks._task import Task

__all__ = ["TaskFailed", "TaskHandle"]

R = TypeVar("R")
_UNSET: Any = object()


class TaskFailed(Exception):
    """The task failed for good (its retries are used up); the message is its last error."""


class TaskHandle(Generic[R]):
    """An enqueued task: its ``id``, and ``await handle.result()`` for what it returned.

    Results are kept (in the app's database, for ``Tasks(result_ttl=...)`` seconds) for
    tasks whose return annotation is not ``None``; with ``tasks.eager`` the result is there
    at once.
    """

    def __init__(self, task: Task[R], task_id: str, *, value: Any = _UNSET) -> None:
        self.task = task
        self.id = task_id
        self._value = value

    def __repr__(self) -> str:
        return f"<TaskHandle {self.task.name}[{self.id}]>"

    async def result(self, timeout: float = 30.0, *, poll: float = 0.05) -> R:  # noqa: ASYNC109
        """Wait up to ``timeout`` seconds for the result; :class:`TaskFailed` if it failed."""
        if self._value is not _UNSET:
            return self._value  # type: ignore[no-any-return]
        if not self.task.keeps_result:
            raise TypeError(
                f"Task {self.task.name!r} returns None, so no result is kept: annotate its "
                "return type to keep one"
            )
        database = self.task.tasks.database
        query = sa.select(task_table.c.state, task_table.c.result, task_table.c.error).where(
            task_table.c.id == self.id
        )
        deadline = time.monotonic() + timeout
        while True:
            async with database.session() as session:
                row = (await session.execute(query)).first()
            if row is not None and row.state == DONE and row.result is not None:
                value = self.task.decode_result(row.result)
                self._value = value
                return value  # type: ignore[no-any-return]
            if row is not None and row.state == FAILED:
                raise TaskFailed(row.error or "failed")
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{self!r} has no result after {timeout} s")
            await asyncio.sleep(poll)
