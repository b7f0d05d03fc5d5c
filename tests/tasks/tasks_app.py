"""The app the plait.tasks tests run: in this process, under ``plait run``, and in
``plait worker`` (which loads ``tasks_app:app``, built from the ``TASKS_TEST_*`` variables).

Every task leaves an ``Effect`` row when it succeeds, so tests count effects in the
database, whoever ran the task.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from plait import App, HTTPException
from plait.db import Database, Model, Session
from plait.middleware import RequestIDMiddleware
from plait.tasks import Task, Tasks, current_task

logger = logging.getLogger("tasks_app")


class Effect(Model):
    __tablename__ = "tasks_test_effect"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    key: Mapped[str] = mapped_column(sa.String(100))
    attempt: Mapped[int] = mapped_column(default=1)
    request_id: Mapped[str | None] = mapped_column(sa.String(100), default=None)


async def _effect(session: Any, kind: str, key: str) -> None:
    info = current_task()
    assert info is not None
    session.add(Effect(kind=kind, key=key, attempt=info.attempt, request_id=info.request_id))


class Call(msgspec.Struct):
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    delay: float | None = None


class TasksApp:
    """The app, its ``Tasks`` and its tasks."""

    def __init__(
        self,
        database_url: str,
        tasks_url: str | None,
        queue: str,
        *,
        tick: bool = False,
        **options: Any,
    ) -> None:
        self.app = app = App()
        app.add_middleware(RequestIDMiddleware)
        self.db = Database(app, database_url, auto_migrate=True)
        defaults: dict[str, Any] = {"backoff": 0.1, "backoff_max": 0.5, "poll_interval": 0.1}
        self.tasks = tasks = Tasks(app, tasks_url, queue=queue, **{**defaults, **options})

        @tasks.task(name="record")
        async def record(key: str, session: Session) -> None:
            logger.info("recording %s", key)
            await _effect(session, "record", key)

        @tasks.task(name="flaky", retries=3)
        async def flaky(key: str, failures: int, session: Session) -> None:
            info = current_task()
            assert info is not None
            if info.attempt <= failures:
                raise RuntimeError(f"try {info.attempt} fails")
            await _effect(session, "flaky", key)

        @tasks.task(name="doomed", retries=2)
        async def doomed(key: str) -> None:
            raise RuntimeError(f"{key} never works")

        @tasks.task(name="slow", timeout=0.5)
        async def slow(key: str, seconds: float, session: Session) -> None:
            await asyncio.sleep(seconds)
            await _effect(session, "slow", key)

        @tasks.task(name="sleepy", timeout=3)
        async def sleepy(key: str, seconds: float, session: Session) -> None:
            await asyncio.sleep(seconds)
            await _effect(session, "sleepy", key)

        @tasks.task(name="double")
        async def double(n: int) -> int:
            return n * 2

        self.record: Task[None] = record
        self.flaky: Task[None] = flaky
        self.doomed: Task[None] = doomed
        self.slow: Task[None] = slow
        self.sleepy: Task[None] = sleepy
        self.double: Task[int] = double

        if tick:

            @tasks.task(name="tick", every=1)
            async def tick(session: Session) -> None:
                await _effect(session, "tick", "tick")

        @app.post("/record", status_code=202)
        async def enqueue_record(key: str) -> dict[str, str]:
            handle = await record.enqueue(key)
            return {"id": handle.id}

        @app.post("/enqueue/{name}", status_code=202)
        async def enqueue(name: str, call: Call) -> dict[str, str]:
            handle = await tasks.registry[name].enqueue(*call.args, delay=call.delay, **call.kwargs)
            return {"id": handle.id}

        @app.post("/double")
        async def enqueue_double(n: int) -> int:
            return await (await double.enqueue(n)).result(timeout=10)

        @app.post("/sleepy", status_code=202)
        async def enqueue_sleepy(key: str, seconds: float = 0.5) -> dict[str, str]:
            handle = await sleepy.enqueue(key, seconds)
            return {"id": handle.id}

        @app.post("/signup", status_code=201)
        async def signup(key: str, session: Session, fail: bool = False) -> dict[str, str]:
            session.add(Effect(kind="signup", key=key))
            await record.enqueue(key, session=session)
            if fail:
                raise HTTPException(409, "taken")  # the transaction rolls back
            return {"key": key}


def from_environment() -> TasksApp:
    options: dict[str, Any] = {}
    if "TASKS_TEST_REDELIVERY" in os.environ:
        options["redelivery_timeout"] = float(os.environ["TASKS_TEST_REDELIVERY"])
    return TasksApp(
        os.environ["TASKS_TEST_DATABASE"],
        os.environ.get("TASKS_TEST_URL") or None,
        os.environ["TASKS_TEST_QUEUE"],
        tick=os.environ.get("TASKS_TEST_TICK") == "1",
        **options,
    )


def __getattr__(name: str) -> Any:
    if name == "app":  # ``plait worker tasks_app:app`` / ``plait run tasks_app:app``
        global app
        app = from_environment().app
        return app
    raise AttributeError(name)
