"""The broker backend: tasks published to RabbitMQ or Redis through taskiq.

The app publishes; ``plait worker`` (taskiq's worker) runs them and acknowledges a message
only after the task ran, so a killed worker's task is delivered again. Three kinds of task
wait in the app's database (the ``outbox`` rows of ``plait_task``) instead of going to the
broker at once, and a relay in every app and worker process publishes them when due:

- enqueued with ``session=``: published after that transaction commits (and by the relay
  if the process died between the commit and the publish);
- enqueued with ``delay=`` and retries waiting out their backoff;
- enqueued while the broker was unreachable (published when it is back).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from typing import TYPE_CHECKING, Annotated, Any

import sqlalchemy as sa
from taskiq import Context, TaskiqDepends, TaskiqEvents, TaskiqMessage, TaskiqMiddleware
from taskiq.kicker import AsyncKicker
from taskiq.result import TaskiqResult

from plait._concurrency import cancel_and_wait
from plait.tasks._brokers import describe_url, make_broker
from plait.tasks._embedded import failure_text
from plait.tasks._execute import backoff, run_attempt
from plait.tasks._records import DONE, FAILED, OUTBOX, new_row, task_table

if TYPE_CHECKING:
    from plait.tasks._task import Task
    from plait.tasks._tasks import Tasks

__all__ = ["BrokerBackend"]

logger = logging.getLogger("plait.tasks")
_BROKER_TIMEOUT = 5.0  # seconds to connect or publish before the outbox takes the task
_ATTEMPT = "plait_attempt"
_REQUEST = "plait_request_id"


class BrokerBackend:
    """Publishes to, and (in ``plait worker``) runs from, a taskiq broker."""

    def __init__(self, tasks: Tasks, url: str) -> None:
        self.tasks = tasks
        self.url = url
        self.broker = make_broker(
            url,
            tasks.queue,
            prefetch=tasks.concurrency,
            redelivery_timeout=tasks.redelivery_timeout,
        )
        self.broker.add_middlewares(_Outcomes(self))
        self.broker.add_event_handler(TaskiqEvents.WORKER_STARTUP, self._worker_startup)
        self.broker.add_event_handler(TaskiqEvents.WORKER_SHUTDOWN, self._worker_shutdown)
        self._connected = False
        self._down = False
        self._retry_at = 0.0
        self._relay_task: asyncio.Task[None] | None = None

    def register(self, task: Task[Any]) -> None:
        labels: dict[str, Any] = {}
        if task.schedule is not None:
            entry: dict[str, Any] = {"args": [task.encode((), {}).decode()]}
            if task.schedule.cron is not None:
                entry["cron"] = task.schedule.cron
            else:
                entry["interval"] = task.schedule.every
            labels["schedule"] = [entry]
        self.broker.register_task(self._function(task), task_name=task.name, **labels)

    def _function(self, task: Task[Any]) -> Any:
        backend = self

        async def run(arguments: str, context: Annotated[Context, TaskiqDepends()]) -> None:
            message = context.message
            attempt = int(message.labels.get(_ATTEMPT, 1))
            request_id = message.labels.get(_REQUEST) or None
            result = await run_attempt(
                backend.tasks.app,
                task,
                arguments.encode(),
                task_id=message.task_id,
                attempt=attempt,
                request_id=request_id,
            )
            if task.keeps_result:
                row = new_row(message.task_id, task.name, arguments.encode(), DONE)
                row.update(attempts=attempt, request_id=request_id)
                row["result"] = task.encode_result(result)
                await backend.tasks.put_row(row)

        run.__name__ = run.__qualname__ = task.name
        return run

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """In the app: connect (an outage is logged, not fatal) and start the relay."""
        await self._connect()
        self._relay_task = asyncio.create_task(self._relay(), name="plait.tasks relay")

    async def stop(self) -> None:
        relay, self._relay_task = self._relay_task, None
        await cancel_and_wait(relay)
        if self._connected:
            self._connected = False
            with contextlib.suppress(Exception):
                await self.broker.shutdown()

    async def _worker_startup(self, state: Any) -> None:
        self._connected = True  # taskiq's worker connected the broker itself
        self._relay_task = asyncio.create_task(self._relay(), name="plait.tasks relay")

    async def _worker_shutdown(self, state: Any) -> None:
        relay, self._relay_task = self._relay_task, None
        await cancel_and_wait(relay)
        with contextlib.suppress(Exception):
            await self.tasks.database.disconnect()

    async def _connect(self) -> bool:
        if self._connected:
            return True
        try:
            async with asyncio.timeout(_BROKER_TIMEOUT):
                await self.broker.startup()
        except Exception as exc:
            self._outage(exc)
            with contextlib.suppress(Exception):
                await self.broker.shutdown()
            return False
        self._connected = True
        return True

    def _outage(self, exc: BaseException) -> None:
        self._retry_at = time.monotonic() + _BROKER_TIMEOUT
        if not self._down:
            self._down = True
            logger.warning(
                "plait.tasks: the broker %s is unavailable (%s: %s); tasks wait in the "
                "database outbox until it is back",
                describe_url(self.url),
                type(exc).__name__,
                " ".join(str(exc).split())[:200],
            )

    async def publish(self, name: str, task_id: str, data: bytes, attempt: int, rid: Any) -> None:
        """Send one task to the broker (within a few seconds, or raise)."""
        kicker: AsyncKicker[Any, Any] = AsyncKicker(name, self.broker, {})
        labels = {_ATTEMPT: str(attempt), _REQUEST: rid or ""}
        async with asyncio.timeout(_BROKER_TIMEOUT):
            await kicker.with_task_id(task_id).with_labels(**labels).kiq(data.decode())
        if self._down:
            self._down = False
            logger.info("plait.tasks: the broker %s is back", describe_url(self.url))

    async def enqueue(self, task: Task[Any], row: dict[str, Any], session: Any) -> None:
        row["state"] = OUTBOX
        if session is not None:
            await session.execute(sa.insert(task_table).values(row))
            if row["run_at"] <= time.time():
                self.tasks.after_commit(session, lambda: self._publish_soon(row))
            return
        # During an outage, enqueue goes straight to the outbox for a few seconds instead of
        # making every request wait for the broker; the relay keeps trying meanwhile.
        trying = not self._down or time.monotonic() >= self._retry_at
        if row["run_at"] <= time.time() and trying and await self._connect():
            try:
                await self.publish(row["name"], row["id"], row["arguments"], 1, row["request_id"])
                return
            except Exception as exc:
                self._outage(exc)
        async with self.tasks.database.transaction() as own:
            await own.execute(sa.insert(task_table).values(row))

    def _publish_soon(self, row: dict[str, Any]) -> None:
        self.tasks.spawn(self._publish_row(row["id"]))

    async def _publish_row(self, task_id: str) -> None:
        """Publish one outbox row now and delete it (the relay does it if this fails)."""
        with contextlib.suppress(Exception):
            await self._relay_once(task_id)

    async def _relay(self) -> None:
        purged = 0.0
        while True:
            with contextlib.suppress(Exception):
                await self._relay_once()
                if time.time() - purged > 60:
                    purged = time.time()
                    await self.tasks.purge(purged)
            await asyncio.sleep(self.tasks.poll_interval)

    async def _relay_once(self, task_id: str | None = None) -> None:
        t = task_table
        now = time.time()
        free = sa.or_(t.c.locked_until.is_(None), t.c.locked_until < now)
        query = sa.select(t.c.id).where(t.c.state == OUTBOX, t.c.run_at <= now, free)
        if task_id is not None:
            query = query.where(t.c.id == task_id)
        async with self.tasks.database.transaction() as session:
            ids = (await session.scalars(query.order_by(t.c.run_at).limit(100))).all()
        if ids and not await self._connect():
            return
        for found in ids:
            token = now + 30 + random.random()
            claim = (
                sa.update(t)
                .where(t.c.id == found, t.c.state == OUTBOX, free)
                .values(locked_until=token)
                .returning(t.c.name, t.c.arguments, t.c.attempts, t.c.request_id)
            )
            async with self.tasks.database.transaction() as session:
                row = (await session.execute(claim)).first()
            if row is None:
                continue
            try:
                await self.publish(row.name, found, row.arguments, row.attempts + 1, row.request_id)
            except Exception as exc:
                self._outage(exc)
                return
            # Delete the row only if it is still the one published: a worker may have
            # already run and failed that try and put the next one in its place.
            async with self.tasks.database.transaction() as session:
                await session.execute(
                    sa.delete(t).where(
                        t.c.id == found, t.c.state == OUTBOX, t.c.locked_until == token
                    )
                )

    # ------------------------------------------------------------------ failures

    async def failed(self, message: TaskiqMessage, exc: BaseException) -> None:
        """A try failed: back to the outbox with a backoff, or dead-lettered."""
        task = self.tasks.registry.get(message.task_name)
        attempt = int(message.labels.get(_ATTEMPT, 1))
        request_id = message.labels.get(_REQUEST) or None
        arguments = message.args[0].encode() if message.args else b"{}"
        row = new_row(message.task_id, message.task_name, arguments, OUTBOX)
        row.update(attempts=attempt, request_id=request_id, error=failure_text(exc))
        if task is not None and attempt <= task.retries:
            row["run_at"] = time.time() + backoff(attempt, *self.tasks.backoff_for(task))
        else:
            logger.error(
                "task %s[%s] failed for good after %d tries",
                message.task_name,
                message.task_id,
                attempt,
            )
            row["state"] = FAILED
        await self.tasks.put_row(row)


class _Outcomes(TaskiqMiddleware):
    """Hands a failed try to :meth:`BrokerBackend.failed` before taskiq acks the message."""

    def __init__(self, backend: BrokerBackend) -> None:
        super().__init__()
        self.backend = backend

    async def on_error(
        self, message: TaskiqMessage, result: TaskiqResult[Any], exception: BaseException
    ) -> None:
        await self.backend.failed(message, exception)
