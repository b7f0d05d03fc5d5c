"""The embedded backend: tasks stored in the app's database, run in the app's process.

Every enqueue is a row in ``plait_task`` first (in the caller's transaction when one is
given), so a crash loses nothing: the runner of the next start finds the row. A runner in
each app process claims due rows with a lease (``locked_until``), runs them, and deletes a
row only after its task succeeded (at least once). A failed try is put back with
exponential backoff and jitter, or marked ``failed`` (the dead letters) after the last one.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pycron
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from plait._concurrency import cancel_and_wait
from plait.tasks._execute import backoff, run_attempt
from plait.tasks._records import DONE, FAILED, PENDING, new_row, task_table

if TYPE_CHECKING:
    from plait.tasks._task import Task
    from plait.tasks._tasks import Tasks

__all__ = ["EmbeddedBackend", "failure_text", "schedule_slot"]

logger = logging.getLogger("plait.tasks")


def failure_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)).strip()[-4000:]


def schedule_slot(task: Task[Any], now: float) -> str | None:
    """The id of the run of periodic ``task`` that is due at ``now``, if one is."""
    schedule = task.schedule
    if schedule is None:
        return None
    if schedule.every is not None:
        return f"{task.name}@{int(now // schedule.every)}"
    moment = datetime.datetime.fromtimestamp(now, datetime.UTC)
    if schedule.cron is not None and pycron.is_now(schedule.cron, moment):
        return f"{task.name}@{moment:%Y%m%d%H%M}"
    return None


class EmbeddedBackend:
    """Runs tasks in this process from the ``plait_task`` table (see the module doc)."""

    def __init__(self, tasks: Tasks) -> None:
        self.tasks = tasks
        self._wake: asyncio.Event | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._running: dict[str, asyncio.Task[None]] = {}
        self._slots: dict[str, str] = {}
        self._purged = 0.0
        self._failing = False

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._wake = asyncio.Event()
        self._loop_task = asyncio.create_task(self._loop(), name="plait.tasks runner")

    async def stop(self) -> None:
        loop_task, self._loop_task = self._loop_task, None
        await cancel_and_wait(loop_task)
        running = list(self._running.values())
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    def wake(self) -> None:
        if self._wake is not None:
            self._wake.set()

    # ------------------------------------------------------------------ enqueueing

    async def enqueue(self, task: Task[Any], row: dict[str, Any], session: Any) -> None:
        row["state"] = PENDING
        if session is not None:
            await session.execute(sa.insert(task_table).values(row))
            self.tasks.after_commit(session, self.wake)
            return
        async with self.tasks.database.transaction() as own:
            await own.execute(sa.insert(task_table).values(row))
        self.wake()

    # ------------------------------------------------------------------ the runner

    async def _loop(self) -> None:
        assert self._wake is not None
        while True:
            try:
                await self._tick()
                if self._failing:
                    logger.warning("plait.tasks: the database answers again; tasks run")
                    self._failing = False
            except Exception as exc:  # the database is down: say so once, keep trying
                if not self._failing:
                    logger.error("plait.tasks: cannot reach the database (%s); retrying", exc)
                    self._failing = True
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.tasks.poll_interval):
                    await self._wake.wait()
            self._wake.clear()

    async def _tick(self) -> None:
        now = time.time()
        await self._schedule(now)
        free = self.tasks.concurrency - len(self._running)
        if free > 0:
            for row in await self._claim(now, free):
                runner = asyncio.create_task(self._run(row), name=f"plait.tasks {row.name}")
                self._running[row.id] = runner
                runner.add_done_callback(self._finished(row.id))
        if now - self._purged > 60:
            self._purged = now
            await self.tasks.purge(now)

    def _finished(self, key: str) -> Callable[[asyncio.Task[None]], None]:
        def forget(_: asyncio.Task[None]) -> None:
            self._running.pop(key, None)

        return forget

    async def _claim(self, now: float, limit: int) -> list[Any]:
        t = task_table
        free = sa.or_(t.c.locked_until.is_(None), t.c.locked_until < now)
        query = (
            sa.select(t.c.id, t.c.name)
            .where(t.c.state == PENDING, t.c.run_at <= now, free)
            .order_by(t.c.run_at)
            .limit(limit)
        )
        async with self.tasks.database.transaction() as session:
            candidates = (await session.execute(query)).all()
        by_name: dict[str, list[str]] = {}
        for candidate in candidates:
            by_name.setdefault(candidate.name, []).append(candidate.id)
        claimed: list[Any] = []
        # One statement per task name (the lease depends on the task's timeout): the rows
        # still free are taken, the ones another process took meanwhile are not.
        for name, ids in by_name.items():
            task = self.tasks.registry.get(name)
            lease = now + (task.timeout if task and task.timeout else 300.0) + 5.0
            claim = (
                sa.update(t)
                .where(t.c.id.in_(ids), t.c.state == PENDING, free)
                .values(locked_until=lease, attempts=t.c.attempts + 1)
                .returning(t.c.id, t.c.name, t.c.arguments, t.c.attempts, t.c.request_id)
            )
            async with self.tasks.database.transaction() as session:
                claimed.extend((await session.execute(claim)).all())
        return claimed

    async def _run(self, row: Any) -> None:
        task = self.tasks.registry.get(row.name)
        try:
            if task is None:
                raise LookupError(f"No task named {row.name!r} in this app")
            result = await run_attempt(
                self.tasks.app,
                task,
                row.arguments,
                task_id=row.id,
                attempt=row.attempts,
                request_id=row.request_id,
            )
        except asyncio.CancelledError:
            # Shutdown: give the try back, so the next start runs it without waiting.
            with contextlib.suppress(Exception):
                await self._update(row.id, locked_until=None, attempts=row.attempts - 1)
            raise
        except Exception as exc:
            await self._failed(task, row, exc)
            return
        if task.keeps_result or "@" in row.id:
            result_data = task.encode_result(result) if task.keeps_result else None
            await self._update(row.id, state=DONE, result=result_data, locked_until=None)
        else:
            async with self.tasks.database.transaction() as session:
                await session.execute(sa.delete(task_table).where(task_table.c.id == row.id))

    async def _failed(self, task: Task[Any] | None, row: Any, exc: Exception) -> None:
        if task is not None and row.attempts <= task.retries:
            wait = backoff(row.attempts, *self.tasks.backoff_for(task))
            await self._update(
                row.id, locked_until=None, run_at=time.time() + wait, error=failure_text(exc)
            )
            return
        logger.error("task %s[%s] failed for good after %d tries", row.name, row.id, row.attempts)
        await self._update(row.id, state=FAILED, locked_until=None, error=failure_text(exc))

    async def _update(self, task_id: str, **values: Any) -> None:
        async with self.tasks.database.transaction() as session:
            await session.execute(
                sa.update(task_table).where(task_table.c.id == task_id).values(**values)
            )

    # ------------------------------------------------------------------ schedules

    async def _schedule(self, now: float) -> None:
        for task in self.tasks.registry.values():
            slot = schedule_slot(task, now)
            if slot is None or self._slots.get(task.name) == slot:
                continue
            self._slots[task.name] = slot
            row = new_row(slot, task.name, task.encode((), {}), PENDING)
            with contextlib.suppress(IntegrityError):  # another process took this slot
                async with self.tasks.database.transaction() as session:
                    await session.execute(sa.insert(task_table).values(row))
