"""The Celery side of bench/tasks/engines.py: async task bodies run as plait's would."""

import asyncio
import os

import redis
from celery import Celery

BROKER = os.environ["BENCH_BROKER"]
PREFIX = os.environ["BENCH_PREFIX"]

app = Celery(
    "bench",
    broker="amqp://guest:guest@127.0.0.1:5672//"
    if BROKER == "amqp"
    else "redis://127.0.0.1:6379/0",
)
app.conf.update(
    task_default_queue=PREFIX,
    task_acks_late=True,  # ack after success, as plait.tasks requires
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)
if os.environ.get("BENCH_CONFIRM") == "1":
    # Wait for RabbitMQ's publisher confirm, as taskiq's aio-pika broker always does.
    app.conf.broker_transport_options = {"confirm_publish": True}
_redis = redis.Redis(host="127.0.0.1")


async def _noop() -> None:
    await asyncio.sleep(0)


async def _io() -> None:
    await asyncio.sleep(0.01)


@app.task(name="noop")
def noop() -> None:
    asyncio.run(_noop())  # plait's tasks are coroutines (async DB sessions)
    _redis.incr(PREFIX + ":done")


@app.task(name="io")
def io() -> None:
    asyncio.run(_io())
    _redis.incr(PREFIX + ":done")


async def _db() -> None:
    # asyncio.run gives each task a new event loop, and a connection belongs to its loop:
    # a plait task's Session could not reuse a pool across tasks under Celery.
    import asyncpg

    connection = await asyncpg.connect(os.environ["BENCH_PG"])
    try:
        await connection.execute(f'INSERT INTO "{PREFIX}" VALUES (1)')
    finally:
        await connection.close()


@app.task(name="db")
def db() -> None:
    asyncio.run(_db())
    _redis.incr(PREFIX + ":done")
