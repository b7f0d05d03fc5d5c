"""``/healthz`` (the process answers) and ``/readyz`` (its backing services answer in time)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from plait._responses import JSONResponse

if TYPE_CHECKING:
    from plait._app import App
    from plait.db import Database

__all__ = ["Check", "Health", "database_check", "redis_check", "tcp_check"]

Check = Callable[[], Awaitable[Any]]
"""A readiness check: an async callable that returns when the service answers, else raises."""


def database_check(db: Database) -> Check:
    """Ready when ``SELECT 1`` runs on ``db`` (a ``plait.db.Database``)."""

    async def check() -> None:
        import sqlalchemy as sa

        async with db.engine.connect() as connection:
            await connection.execute(sa.text("SELECT 1"))

    return check


def redis_check(url: str) -> Check:
    """Ready when the Redis server at ``url`` answers ``PING``."""

    async def check() -> None:
        import redis.asyncio

        client = redis.asyncio.from_url(url)
        try:
            await client.ping()
        finally:
            await client.aclose()

    return check


def tcp_check(url: str) -> Check:
    """Ready when a TCP connection opens to ``url``'s host and port (a broker: amqp://…)."""
    parts = urlsplit(url)
    defaults = {"amqp": 5672, "amqps": 5671, "nats": 4222, "mqtt": 1883, "redis": 6379}
    host = parts.hostname or "127.0.0.1"
    port = parts.port or defaults.get(parts.scheme, 0)
    if not port:
        raise ValueError(f"tcp_check needs a port in {url!r}")

    async def check() -> None:
        _, writer = await asyncio.open_connection(host, port)
        writer.close()
        await writer.wait_closed()

    return check


class Health:
    """Liveness and readiness endpoints for load balancers and Kubernetes::

        from plait.observability import Health, database_check, redis_check

        Health(app, checks={"database": database_check(db), "redis": redis_check(url)})

    ``GET /healthz`` answers 200 while the process can serve at all (no check runs).
    ``GET /readyz`` runs every check at once, each within ``timeout`` seconds, and answers
    200 when all pass, else 503 with ``Retry-After``; the JSON body gives each check's
    result and time. Failure reasons name the exception type only (no hosts or passwords
    leak to whoever can reach the endpoint).
    """

    def __init__(
        self,
        app: App,
        *,
        checks: Mapping[str, Check] | None = None,
        timeout: float = 2.0,
        live_path: str = "/healthz",
        ready_path: str = "/readyz",
        retry_after: int = 5,
    ) -> None:
        self.checks = dict(checks or {})
        self.timeout = timeout
        self.retry_after = retry_after
        app.add_route(live_path, self.live, methods=["GET"], include_in_schema=False)
        app.add_route(ready_path, self.ready, methods=["GET"], include_in_schema=False)

    def live(self) -> JSONResponse:
        return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})

    async def ready(self) -> JSONResponse:
        names = list(self.checks)
        results = await asyncio.gather(*(self._run(self.checks[name]) for name in names))
        report = dict(zip(names, results, strict=True))
        ok = all(result["ok"] for result in results)
        headers = {"Cache-Control": "no-store"}
        if not ok:
            headers["Retry-After"] = str(self.retry_after)
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "checks": report},
            status_code=200 if ok else 503,
            headers=headers,
        )

    async def _run(self, check: Check) -> dict[str, Any]:
        start = time.perf_counter()
        try:
            await asyncio.wait_for(check(), self.timeout)
        except TimeoutError:
            result: dict[str, Any] = {"ok": False, "error": f"no answer in {self.timeout} s"}
        except Exception as exc:
            result = {"ok": False, "error": type(exc).__name__}
        else:
            result = {"ok": True}
        result["ms"] = round((time.perf_counter() - start) * 1000, 1)
        return result
