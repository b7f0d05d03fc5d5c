"""The taskiq side of bench/tasks/engines.py: one broker, two tasks that count in Redis."""

import asyncio
import os

import redis.asyncio as aioredis
from taskiq_aio_pika import AioPikaBroker, Exchange, Queue
from taskiq_redis import RedisStreamBroker

BROKER = os.environ["BENCH_BROKER"]
PREFIX = os.environ["BENCH_PREFIX"]

if BROKER == "amqp":
    broker = AioPikaBroker(
        "amqp://guest:guest@127.0.0.1:5672/",
        exchange=Exchange(name=PREFIX),
        task_queues=[Queue(name=PREFIX)],
        dead_letter_queue=Queue(name=PREFIX + ".dead"),
        qos=100,
    )
else:
    broker = RedisStreamBroker(
        "redis://127.0.0.1:6379/0", queue_name=PREFIX, consumer_group_name=PREFIX
    )

_redis = aioredis.Redis(host="127.0.0.1")


@broker.task(task_name="noop")
async def noop() -> None:
    await _redis.incr(PREFIX + ":done")


@broker.task(task_name="io")
async def io() -> None:
    await asyncio.sleep(0.01)  # a webhook call, an e-mail
    await _redis.incr(PREFIX + ":done")


_pool = None


@broker.task(task_name="db")
async def db() -> None:
    # A task that writes a row, as a plait task with a Session does: the worker's event
    # loop keeps a connection pool for all its tasks.
    global _pool
    if _pool is None:
        import asyncpg

        _pool = await asyncpg.create_pool(os.environ["BENCH_PG"], min_size=1, max_size=10)
    async with _pool.acquire() as connection:
        await connection.execute(f'INSERT INTO "{PREFIX}" VALUES (1)')
    await _redis.incr(PREFIX + ":done")
