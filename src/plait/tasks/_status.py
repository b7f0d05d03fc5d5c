"""What ``plait tasks status`` reports: queued, running, scheduled and failed tasks."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from plait.tasks._brokers import describe_url, scheme_of
from plait.tasks._records import FAILED, OUTBOX, PENDING, task_table
from plait.tasks._tasks import Tasks

__all__ = ["collect"]


async def _count(tasks: Tasks, *conditions: Any) -> int:
    query = sa.select(sa.func.count()).select_from(task_table).where(*conditions)
    async with tasks.database.session() as session:
        return int((await session.scalar(query)) or 0)


async def _broker_counts(tasks: Tasks) -> tuple[str, str]:
    """(queued, running) as the broker reports them."""
    assert tasks.url is not None
    scheme = scheme_of(tasks.url)
    if scheme in ("amqp", "amqps"):
        import aio_pika

        connection = await aio_pika.connect(tasks.url)
        async with connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(tasks.queue, passive=True)
            ready = queue.declaration_result.message_count
            consumers = queue.declaration_result.consumer_count
        return str(ready), f"unknown to AMQP ({consumers} worker connections)"
    from redis.asyncio import Redis

    async with Redis.from_url(tasks.url) as redis:
        length = await redis.xlen(tasks.queue)
        try:
            pending = (await redis.xpending(tasks.queue, tasks.queue))["pending"]
        except Exception:  # no consumer group yet: no worker ever ran
            pending = 0
    return str(length - pending), str(pending)


async def collect(tasks: Tasks) -> list[tuple[str, str]]:
    now = time.time()
    t = task_table
    due = t.c.run_at <= now
    leased = sa.and_(t.c.locked_until.is_not(None), t.c.locked_until > now)
    if tasks.embedded:
        backend = "embedded (the app's database)"
        queued = str(await _count(tasks, t.c.state == PENDING, due, sa.not_(leased)))
        running = str(await _count(tasks, t.c.state == PENDING, leased))
    else:
        assert tasks.url is not None
        backend = f"{describe_url(tasks.url)} queue {tasks.queue!r}"
        try:
            queued, running = await _broker_counts(tasks)
        except Exception as exc:
            queued = running = f"unknown ({type(exc).__name__}: {exc})"
        outbox = await _count(tasks, t.c.state == OUTBOX, due)
        queued += f" (+{outbox} in the outbox)" if outbox else ""
    scheduled = await _count(tasks, t.c.state.in_([PENDING, OUTBOX]), t.c.run_at > now)
    failed = await _count(tasks, t.c.state == FAILED)
    periodic = [
        f"{name} ({task.schedule.describe()})"
        for name, task in tasks.registry.items()
        if task.schedule is not None
    ]
    return [
        ("backend", backend),
        ("queued", queued),
        ("running", running),
        ("scheduled", f"{scheduled} delayed or retrying"),
        ("periodic", ", ".join(periodic) or "none"),
        ("failed", f"{failed} (plait tasks failed)" if failed else "0"),
    ]
