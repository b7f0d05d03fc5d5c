"""``Tasks``: the battery's one object, added to an app with one line."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypedDict, TypeVar, Unpack, overload

import sqlalchemy as sa
from sqlalchemy import event

from plait import App, Settings
from plait.tasks._execute import current_request_id, install_log_context, run_attempt
from plait.tasks._handle import TaskHandle
from plait.tasks._middleware import RequestStateMiddleware
from plait.tasks._records import DONE, new_row, task_table
from plait.tasks._task import Schedule, Task

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from plait.db import Database
    from plait.tasks._broker import BrokerBackend
    from plait.tasks._embedded import EmbeddedBackend

__all__ = ["TaskOptions", "Tasks"]

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")
logger = logging.getLogger("plait.tasks")
_SCHEDULE_KEEP = 3600.0  # seconds a schedule's "ran in this slot" row is kept


class TaskOptions(TypedDict, total=False):
    """The options of :meth:`Tasks.task`, listed once for its forms (see there)."""

    name: str | None
    retries: int
    timeout: float | timedelta | None
    backoff: float | None
    cron: str | None
    every: float | timedelta | None


def _check_cron(cron: str) -> None:
    import datetime

    import pycron

    fields = cron.split()
    try:
        if len(fields) != 5:
            raise ValueError(f"{len(fields)} fields")
        pycron.is_now(cron, datetime.datetime(2026, 1, 1))
    except (ValueError, TypeError, IndexError) as exc:
        raise ValueError(
            f"cron={cron!r} is not a cron expression (minute hour day month weekday, "
            f"such as '0 3 * * *'): {exc}"
        ) from None


class _TaskDecorator(Protocol):
    """What ``@tasks.task(...)`` returns: makes an async or a sync function a task."""

    @overload
    def __call__(self, func: Callable[..., Awaitable[R]], /) -> Task[R]: ...

    @overload
    def __call__(self, func: Callable[..., R], /) -> Task[R]: ...


class _TasksSettings(Settings):
    TASKS_URL: str | None = None
    secret_key_required: ClassVar[bool] = False


class Tasks:
    """Background tasks for an app::

        from plait import App
        from plait.db import Database
        from plait.tasks import Tasks

        app = App()
        db = Database(app)
        tasks = Tasks(app)

        @tasks.task(retries=3, timeout=30)
        async def send_welcome(user_id: int) -> None: ...

        # in a handler:
        await send_welcome.enqueue(user.id)

    Where tasks run is one setting, ``PLAIT_TASKS_URL`` (or ``url=``): unset, they are
    stored in the app's database and run inside the app's process (nothing is lost in a
    crash: the next start runs them); ``amqp://…`` (RabbitMQ) or ``redis://…`` publishes
    them through taskiq to ``plait worker`` processes. The app needs a
    :class:`plait.db.Database` (its ``plait_task`` table is the outbox, the dead letters and
    the results).

    ``eager = True`` runs each task inline when it is enqueued (for tests; errors
    propagate). ``queue`` names the broker's queue (RabbitMQ) or stream (Redis);
    ``concurrency`` is how many tasks one process runs at once; failed tries wait
    ``backoff * 2**(try-1)`` seconds (with jitter, at most ``backoff_max``).
    """

    def __init__(
        self,
        app: App | None = None,
        url: str | None = None,
        *,
        settings: Settings | None = None,
        queue: str = "plait.tasks",
        concurrency: int = 10,
        timeout: float | timedelta | None = 300.0,
        backoff: float = 2.0,
        backoff_max: float = 600.0,
        redelivery_timeout: float = 600.0,
        result_ttl: float = 86400.0,
        poll_interval: float = 1.0,
        database: str = "default",
    ) -> None:
        if url is None:
            url = getattr(settings, "TASKS_URL", None) or _TasksSettings.load(check=False).TASKS_URL
        self.url = url or None
        self.queue = queue
        self.concurrency = concurrency
        self.default_timeout = timeout
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.redelivery_timeout = redelivery_timeout
        self.result_ttl = result_ttl
        self.poll_interval = poll_interval
        self.database_name = database
        self.eager = False
        self.registry: dict[str, Task[Any]] = {}
        self.app: App | None = None
        self._spawned: set[asyncio.Task[Any]] = set()
        self._started = False
        self.backend: EmbeddedBackend | BrokerBackend
        if self.url is None:
            from plait.tasks._embedded import EmbeddedBackend

            self.backend = EmbeddedBackend(self)
        else:
            from plait.tasks._broker import BrokerBackend

            self.backend = BrokerBackend(self, self.url)
        if app is not None:
            self.init_app(app)

    def __repr__(self) -> str:
        where = "embedded" if self.url is None else self.url.partition("://")[0]
        return f"<Tasks {where}, {len(self.registry)} tasks>"

    @property
    def embedded(self) -> bool:
        """True when tasks run in the app's process (no ``PLAIT_TASKS_URL``)."""
        return self.url is None

    # ------------------------------------------------------------------ the app

    def init_app(self, app: App) -> None:
        """Register on ``app``: start-up/shutdown hooks, the request-id middleware."""
        if getattr(app.state, "tasks", None) is not None:
            raise RuntimeError("The app already has a Tasks")
        app.state.tasks = self
        self.app = app
        app.on_startup(self.start)
        app.on_shutdown(self.stop)
        app.add_middleware(RequestStateMiddleware)

    @classmethod
    def of(cls, app: App) -> Tasks:
        """The ``Tasks`` of ``app``."""
        tasks = getattr(app.state, "tasks", None)
        if not isinstance(tasks, Tasks):
            raise RuntimeError("This app has no tasks: add them with tasks = Tasks(app)")
        return tasks

    @property
    def database(self) -> Database:
        from plait.db import Database

        if self.app is None:
            raise RuntimeError("Tasks needs its app: Tasks(app), or tasks.init_app(app)")
        try:
            return Database.of(self.app, self.database_name)
        except RuntimeError as exc:
            raise RuntimeError(
                f"plait.tasks keeps its tasks in the app's database, and {exc} "
                "(or set tasks.eager = True in tests that need none)"
            ) from None

    async def start(self) -> None:
        install_log_context()
        if self.eager:  # tasks run inside enqueue: no database, no broker, no runner
            return
        await self._check_table()
        await self.backend.start()
        self._started = True

    async def _check_table(self) -> None:
        """Fail at start-up, not at the first enqueue, when ``plait_task`` is missing."""
        database = self.database
        if database.auto_migrate:
            return  # the database's start-up creates it, before or after this one
        try:
            async with database.session() as session:
                exists = await session.run_sync(
                    lambda sync: sa.inspect(sync.connection()).has_table(task_table.name)
                )
        except Exception as exc:  # the database is down: its requests answer 503 meanwhile
            logger.warning("plait.tasks: could not check the %s table: %s", task_table.name, exc)
            return
        if not exists:
            raise RuntimeError(
                f"plait.tasks keeps its tasks in the table {task_table.name!r}, which the "
                "database does not have: add it with a migration (plait db makemigrations, then "
                "plait db migrate) or Database(auto_migrate=True)"
            )

    async def stop(self) -> None:
        if self._started:
            self._started = False
            await self.backend.stop()
        spawned = list(self._spawned)
        if spawned:
            await asyncio.wait(spawned, timeout=5)

    # ------------------------------------------------------------------ declaring

    @overload
    def task(self, func: Callable[..., Awaitable[R]], /) -> Task[R]: ...

    @overload
    def task(self, func: Callable[..., R], /) -> Task[R]: ...

    @overload
    def task(self, func: None = None, /, **options: Unpack[TaskOptions]) -> _TaskDecorator: ...

    def task(
        self, func: Callable[..., Any] | None = None, /, **options: Unpack[TaskOptions]
    ) -> Any:
        """Make a function (async, or sync: run in a thread) a task.

        ``retries``: tries after the first before it is dead-lettered; ``timeout``:
        seconds (default ``Tasks(timeout=300)``; ``None`` for none); ``backoff``: the
        first retry's wait (default the ``Tasks``'); ``cron="*/5 * * * *"`` or
        ``every=30`` (seconds) run it on a schedule (``plait beat`` with a broker, the
        app itself when embedded). ``name`` defaults to ``module.function``.
        """
        unknown = options.keys() - TaskOptions.__optional_keys__
        if unknown:
            raise TypeError(f"unknown task options: {', '.join(sorted(unknown))}")
        cron, every = options.get("cron"), options.get("every")

        def decorate(func: Callable[..., Any]) -> Task[Any]:
            task_name = options.get("name") or f"{func.__module__}.{func.__qualname__}"
            if task_name in self.registry:
                raise ValueError(f"A task named {task_name!r} exists already")
            schedule = None
            if cron is not None and every is not None:
                raise ValueError("A task has cron= or every=, not both")
            if cron is not None:
                _check_cron(cron)
                schedule = Schedule(cron=cron)
            elif every is not None:
                seconds = every.total_seconds() if isinstance(every, timedelta) else every
                if seconds < 1 or seconds != int(seconds):
                    raise ValueError(f"every= must be whole seconds, at least 1; got {seconds}")
                schedule = Schedule(every=int(seconds))
            new = Task(
                self,
                func,
                name=task_name,
                retries=options.get("retries", 0),
                timeout=options.get("timeout", self.default_timeout),
                backoff=options.get("backoff"),
                schedule=schedule,
            )
            if schedule is not None and new.signature.parameters:
                required = [p for p in new.signature.parameters.values() if p.default is p.empty]
                if required:
                    raise TypeError(f"Scheduled task {task_name!r} can't have required arguments")
            self.registry[task_name] = new
            from plait.tasks._broker import BrokerBackend

            if isinstance(self.backend, BrokerBackend):
                self.backend.register(new)
            return new

        return decorate if func is None else decorate(func)

    def backoff_for(self, task: Task[Any]) -> tuple[float, float]:
        return (self.backoff if task.backoff is None else task.backoff, self.backoff_max)

    # ------------------------------------------------------------------ enqueueing

    async def enqueue_encoded(
        self,
        task: Task[R],
        arguments: bytes,
        *,
        delay: float | None = None,
        session: AsyncSession | None = None,
    ) -> TaskHandle[R]:
        """Enqueue ``task`` with arguments already checked and encoded (``Task.enqueue``)."""
        task_id = uuid.uuid4().hex
        request_id = current_request_id()
        if self.eager:
            value = await run_attempt(
                self.app, task, arguments, task_id=task_id, attempt=1, request_id=request_id
            )
            return TaskHandle(task, task_id, value=value)
        run_at = time.time() + (delay or 0.0)
        row = new_row(task_id, task.name, arguments, "", run_at=run_at, request_id=request_id)
        await self.backend.enqueue(task, row, session)
        return TaskHandle(task, task_id)

    def after_commit(self, session: AsyncSession, callback: Callable[[], None]) -> None:
        """Call ``callback`` once ``session``'s transaction commits (never if it rolls back)."""
        sync = session.sync_session
        pending: list[Callable[[], None]] | None = sync.info.get("plait_tasks_after_commit")
        if pending is None:
            pending = sync.info["plait_tasks_after_commit"] = []

            def committed(_: Any) -> None:
                for call in sync.info.pop("plait_tasks_after_commit", []):
                    call()

            def rolled_back(_: Any) -> None:
                sync.info.pop("plait_tasks_after_commit", None)

            event.listen(sync, "after_commit", committed, once=True)
            event.listen(sync, "after_rollback", rolled_back, once=True)
        pending.append(callback)

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        """Run ``coroutine`` in the background, keeping a reference until it ends."""
        job = asyncio.get_running_loop().create_task(coroutine)
        self._spawned.add(job)
        job.add_done_callback(self._spawned.discard)

    async def purge(self, now: float) -> None:
        """Delete kept results older than ``result_ttl`` (and old schedule-slot marks)."""
        t = task_table
        old_result = t.c.created_at < now - self.result_ttl
        old_slot = sa.and_(t.c.id.contains("@"), t.c.created_at < now - _SCHEDULE_KEEP)
        async with self.database.transaction() as session:
            await session.execute(
                sa.delete(t).where(t.c.state == DONE, sa.or_(old_result, old_slot))
            )

    async def put_row(self, row: dict[str, Any]) -> None:
        """Insert ``row`` into ``plait_task``, or replace the row with its id."""
        async with self.database.transaction() as session:
            values = {k: v for k, v in row.items() if k != "id"}
            result = await session.execute(
                sa.update(task_table).where(task_table.c.id == row["id"]).values(**values)
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                await session.execute(sa.insert(task_table).values(row))
