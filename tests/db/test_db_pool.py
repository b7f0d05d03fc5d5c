"""The pool under overload: a burst of ten times the pool size never hangs and never leaks.

Each request holds its connection for 50 ms (``pg_sleep``). With a wait long enough for the
queue to drain every request is answered; with a short ``pool_timeout`` the ones that waited
too long get a 503 with ``Retry-After`` instead. Either way every connection is back in the
pool afterwards (its checked-out count is 0) and the pool still serves.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from plait import App
from plait.db import Database, Session
from plait.testing import AsyncTestClient

pytestmark = pytest.mark.postgres

POOL = 2
BURST = 10 * POOL


@pytest.fixture(autouse=True)
def busy_spell_ends() -> Iterator[None]:
    """The 503s below start a "busy" spell, which only the quiet period (a minute) would
    end: end it, so a later test's first busy 503 is logged as a new spell."""
    from plait.db._errorhandling import busy

    yield
    if busy.down:
        busy.succeeded()


def pool_app(url: str, wait: float) -> tuple[App, Database]:
    app = App()
    db = Database(app, url, engine_options={"pool_size": POOL, "pool_timeout": wait})

    @app.get("/slow")
    async def slow(session: Session) -> int:
        await session.execute(text("SELECT pg_sleep(0.05)"))
        return 1

    return app, db


async def burst(app: App, db: Database) -> tuple[list[int], list[str | None], float, int]:
    async with AsyncTestClient(app) as client:
        began = time.monotonic()
        responses = await asyncio.wait_for(
            asyncio.gather(*(client.get("/slow") for _ in range(BURST))), 30
        )
        elapsed = time.monotonic() - began
        checked_out = db.engine.sync_engine.pool.checkedout()  # type: ignore[attr-defined]
        assert (await client.get("/slow")).status_code == 200  # the pool still serves
    statuses = [response.status_code for response in responses]
    retry = [response.headers.get("retry-after") for response in responses]
    return statuses, retry, elapsed, checked_out


def test_a_burst_queues_and_every_request_is_answered(postgres_server: str) -> None:
    app, db = pool_app(postgres_server, wait=10)
    statuses, _, elapsed, checked_out = asyncio.run(burst(app, db))
    assert statuses == [200] * BURST
    assert checked_out == 0
    # Two at a time, 50 ms each: the queue drains in about half a second.
    assert elapsed < 10


def test_a_burst_past_the_wait_is_503_with_retry_after(postgres_server: str) -> None:
    app, db = pool_app(postgres_server, wait=0.1)
    statuses, retry, elapsed, checked_out = asyncio.run(burst(app, db))
    assert set(statuses) == {200, 503}, statuses
    assert statuses.count(200) >= POOL
    assert all(r == "1" for s, r in zip(statuses, retry, strict=True) if s == 503)
    assert checked_out == 0
    assert elapsed < 5


def test_a_connection_dropped_while_resting_is_replaced(postgres_server: str) -> None:
    """A pooled connection that rested is pinged at checkout; one the server dropped is
    replaced, and the request never sees it (busy connections are not pinged: see
    docs/decisions.md)."""
    import asyncpg

    from plait.testing import TestClient

    app = App()
    Database(app, postgres_server, engine_options={"pool_size": 1})

    @app.get("/pid")
    async def pid(session: Session) -> int:
        return int(await session.scalar(text("SELECT pg_backend_pid()")) or 0)

    async def terminate(backend: int) -> None:
        connection = await asyncpg.connect(postgres_server.replace("+asyncpg", ""))
        try:
            assert await connection.fetchval("SELECT pg_terminate_backend($1)", backend)
        finally:
            await connection.close()

    with TestClient(app) as client:
        first = client.get("/pid").json()
        asyncio.run(terminate(first))
        time.sleep(1.2)  # longer than PING_IDLE
        second = client.get("/pid")
        assert second.status_code == 200
        assert second.json() != first
