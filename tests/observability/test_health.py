"""plait.observability.Health: /healthz always, /readyz checks each service with a timeout."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from _servers import free_port
from _services import service_unavailable
from plait import App
from plait.observability import Health, database_check, redis_check, tcp_check
from plait.testing import TestClient

REDIS_URL = os.environ.get("PLAIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


async def fine() -> None:
    pass


async def hangs() -> None:
    await asyncio.sleep(60)


async def refuses() -> None:
    raise ConnectionRefusedError("connection refused by 10.0.0.7:5432 (password=secret)")


def test_healthz_answers_without_running_checks() -> None:
    app = App()
    Health(app, checks={"slow": hangs})
    with TestClient(app) as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["cache-control"] == "no-store"


def test_readyz_is_200_when_every_check_passes(tmp_path: Path) -> None:
    from plait.db import Database

    app = App()
    db = Database(app, f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}")
    Health(app, checks={"database": database_check(db), "other": fine})
    with TestClient(app) as client:
        response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["other"]["ok"] is True


def test_readyz_is_503_with_retry_after_naming_the_failing_check_without_secrets() -> None:
    app = App()
    Health(app, checks={"database": refuses, "cache": fine}, timeout=0.2)
    with TestClient(app) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    checks = response.json()["checks"]
    assert checks["database"] == {
        "ok": False,
        "error": "ConnectionRefusedError",
        "ms": checks["database"]["ms"],
    }
    assert "secret" not in response.text
    assert checks["cache"]["ok"] is True


def test_a_check_that_hangs_fails_after_the_timeout() -> None:
    app = App()
    Health(app, checks={"broker": hangs, "a": hangs}, timeout=0.3)
    with TestClient(app) as client:
        start = time.perf_counter()
        response = client.get("/readyz")
        elapsed = time.perf_counter() - start
    assert response.status_code == 503
    assert elapsed < 2  # the checks run at once, each bounded
    assert response.json()["checks"]["broker"]["error"] == "no answer in 0.3 s"


def test_tcp_and_redis_checks_against_real_and_closed_ports() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        service_unavailable("Redis", str(exc))
    closed = free_port()
    app = App()
    Health(
        app,
        checks={
            "redis": redis_check(REDIS_URL),
            "redis_tcp": tcp_check(REDIS_URL),
            "broker": tcp_check(f"amqp://127.0.0.1:{closed}/"),
            "gone": redis_check(f"redis://127.0.0.1:{closed}/0"),
        },
        timeout=2,
    )
    with TestClient(app) as client:
        checks = client.get("/readyz").json()["checks"]
    assert checks["redis"]["ok"] is True
    assert checks["redis_tcp"]["ok"] is True
    assert checks["broker"]["ok"] is False
    assert checks["gone"]["ok"] is False


def test_tcp_check_needs_a_port() -> None:
    with pytest.raises(ValueError, match="port"):
        tcp_check("http:///nothing")
