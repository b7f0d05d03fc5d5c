"""The cluster the tests in this directory share: started once, stopped at the end.

It needs nginx (``apt-get install nginx``; .ci/run installs it), PostgreSQL and Redis; a
missing one skips these tests with the reason (fails them when ``PLAIT_REQUIRE_SERVICES=1``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster_harness import Cluster, cluster, nginx_binary

from _services import new_postgres_database, postgres_execute, service_unavailable

REDIS_URL = os.environ.get("PLAIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _require_redis() -> None:
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        service_unavailable("Redis", f"{REDIS_URL}: {exc}")


def _create_task_table(url: str) -> None:
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine

    from plait.tasks import task_table

    async def create() -> None:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(task_table.create)
        finally:
            await engine.dispose()

    asyncio.run(create())


def _require_rabbitmq() -> None:
    import socket

    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=2).close()
    except OSError as exc:
        service_unavailable("RabbitMQ", f"127.0.0.1:5672: {exc}")


@pytest.fixture(scope="package")
def database_url() -> Iterator[str]:
    with new_postgres_database("plait_cluster") as url:
        postgres_execute(
            url,
            "CREATE TABLE cluster_writes (id BIGSERIAL PRIMARY KEY, key TEXT UNIQUE NOT NULL)",
            "CREATE TABLE cluster_task_runs (id BIGSERIAL PRIMARY KEY, key TEXT NOT NULL)",
        )
        _create_task_table(url)
        yield url


@pytest.fixture(scope="package")
def running_cluster(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    if nginx_binary() is None:
        service_unavailable("nginx", "not installed (apt-get install nginx)")
    _require_redis()
    _require_rabbitmq()
    prefix = f"plait-cluster-{uuid.uuid4().hex[:8]}:"
    env = {
        **os.environ,
        "PLAIT_DATABASE_URL": database_url,
        "PLAIT_REDIS_URL": REDIS_URL,
        "PLAIT_SECRET_KEY": "cluster-test-secret-key-" + uuid.uuid4().hex,
        "PLAIT_DEBUG": "0",
        "CLUSTER_PREFIX": prefix,
        "PLAIT_TASKS_URL": "amqp://guest:guest@127.0.0.1:5672/",
    }
    logs: Path = tmp_path_factory.mktemp("cluster")
    try:
        with cluster(env, logs) as running:
            yield running
    finally:
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
        client.close()
