"""plait.tasks as ``mypy --strict`` sees it (checked by test_tasks_typing.py)."""

from __future__ import annotations

from typing import assert_type

from plait import App
from plait.db import Database, Session
from plait.tasks import Task, TaskHandle, Tasks

app = App()
db = Database(app, "sqlite+aiosqlite:///:memory:")
tasks = Tasks(app)


@tasks.task
async def add(a: int, b: int) -> int:
    return a + b


@tasks.task(retries=3, timeout=30)
async def send_welcome(user_id: int, session: Session) -> None: ...


@tasks.task(every=60)
def cleanup() -> str:
    return "done"


assert_type(add, Task[int])
assert_type(send_welcome, Task[None])
assert_type(cleanup, Task[str])


async def handler() -> int:
    handle = await add.enqueue(1, 2)
    assert_type(handle, TaskHandle[int])
    await send_welcome.enqueue(7, delay=60)
    return await handle.result(timeout=5)
