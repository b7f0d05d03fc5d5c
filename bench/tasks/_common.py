"""What the two task benchmarks (engines.py, plait_tasks.py) share: the PostgreSQL they
write to, the broker queues they clean up, and the wait for N tasks to be done."""

from __future__ import annotations

import os
import time

import redis

__all__ = ["PG", "delete_amqp", "pg", "wait_done"]

PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


async def pg(statement: str) -> None:
    """Run one statement on the benchmark's PostgreSQL database."""
    import asyncpg

    connection = await asyncpg.connect(PG)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def delete_amqp(url: str, prefix: str) -> None:
    """Delete the queue ``prefix``, its dead-letter queue and its exchange from RabbitMQ."""
    import aio_pika

    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        for name in (prefix, f"{prefix}.dead"):
            await channel.queue_delete(name)
        await channel.exchange_delete(prefix)


def wait_done(
    client: redis.Redis, key: str, n: int, timeout: float, what: str
) -> tuple[int, float]:
    """Wait until the counter ``key`` reaches ``n``; the count when the first task was seen
    done, and the seconds from then to the last (the tasks' throughput, start-up excluded)."""
    deadline = time.monotonic() + timeout
    first: float | None = None
    first_count = 0
    while (done := int(client.get(key) or 0)) < n:  # type: ignore[arg-type]
        if first is None and done:
            first, first_count = time.perf_counter(), done
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: only {done} of {n} tasks done")
        time.sleep(0.002)
    if first is None:
        first, first_count = time.perf_counter(), 0
    return first_count, time.perf_counter() - first
