"""The app of bench/tasks/plait_tasks.py: one endpoint with an enqueue, one without."""

from __future__ import annotations

import os

import redis.asyncio as aioredis

from plait import App
from plait.db import Database
from plait.tasks import Tasks

app = App()
db = Database(app, os.environ["BENCH_DB"], auto_migrate=True)
tasks = Tasks(
    app,
    os.environ.get("BENCH_TASKS_URL") or None,
    queue=os.environ["BENCH_PREFIX"],
    concurrency=100,
    poll_interval=0.05,
)
_redis = aioredis.Redis(host="127.0.0.1")


@tasks.task(name="noop")
async def noop(n: int) -> None:
    await _redis.incr(os.environ["BENCH_PREFIX"] + ":done")


@app.get("/plain")
async def plain() -> dict[str, bool]:
    return {"ok": True}


@app.get("/enqueue")
async def enqueue() -> dict[str, bool]:
    await noop.enqueue(1)
    return {"ok": True}
