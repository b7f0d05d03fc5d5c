"""A PostgreSQL outage: 503 with Retry-After, one log line per outage, recovery by itself.

PostgreSQL is reached through a TCP proxy that the test switches off (connections refused,
open ones cut) and on again; the shared server is never touched.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from _services import TCPProxy
from plait import App
from plait.db import Database, Session
from plait.testing import TestClient

pytestmark = pytest.mark.postgres


@pytest.fixture
def proxied_url(postgres_server: str) -> Iterator[tuple[str, TCPProxy]]:
    parts = urlsplit(postgres_server)
    with TCPProxy(parts.hostname or "127.0.0.1", parts.port or 5432) as proxy:
        netloc = f"{parts.username}@127.0.0.1:{proxy.port}"
        yield parts._replace(netloc=netloc).geturl(), proxy


def outage_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "plait.outage"]


def test_database_outage_logs_once_and_recovers(
    proxied_url: tuple[str, TCPProxy], caplog: pytest.LogCaptureFixture
) -> None:
    url, proxy = proxied_url
    app = App()
    Database(app, url)

    @app.get("/")
    async def index(session: Session) -> int:
        return int(await session.scalar(select(1)) or 0)

    caplog.set_level(logging.INFO)
    with TestClient(app) as client:
        assert client.get("/").json() == 1
        proxy.stop()
        for _ in range(10):
            response = client.get("/")
            assert response.status_code == 503
            assert response.headers["retry-after"] == "5"
            assert "unavailable" in response.json()["detail"]
        lines = outage_lines(caplog)
        assert len(lines) == 1, lines
        assert "The database is unavailable" in lines[0]
        assert not [r for r in caplog.records if r.exc_info]
        proxy.start()
        assert client.get("/").json() == 1  # no restart
        lines = outage_lines(caplog)
        assert len(lines) == 2
        assert "The database is back after" in lines[1]


def test_pool_defaults_keep_connections() -> None:
    """Issue 12 finding 15: overflow connections were opened and closed for every request."""
    from plait.db import POOL_SIZE, POOL_TIMEOUT

    db = Database(url="postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")
    pool = db.create_engine().sync_engine.pool
    assert pool.size() == POOL_SIZE == 20
    assert pool._max_overflow == 0  # type: ignore[attr-defined]
    assert pool._timeout == POOL_TIMEOUT == 5  # type: ignore[attr-defined]


def test_the_pool_keeps_its_connections_under_concurrency(postgres_server: str) -> None:
    """Issue 12 finding 15: with 5 pooled connections and 10 of overflow, 10-15 clients made
    the pool open and close overflow connections for every request (about 100 new PostgreSQL
    connections a second). 20 rounds of 15 concurrent requests now open at most 15."""
    import asyncio

    from sqlalchemy import event, text

    from plait.testing import AsyncTestClient

    app = App()
    db = Database(app, postgres_server)

    @app.get("/")
    async def index(session: Session) -> int:
        return int(await session.scalar(text("SELECT 1 FROM pg_sleep(0.002)")) or 0)

    opened: list[object] = []

    async def main() -> None:
        async with AsyncTestClient(app) as client:
            event.listen(db.engine.sync_engine, "connect", lambda *args: opened.append(args))
            for _ in range(20):
                responses = await asyncio.gather(*(client.get("/") for _ in range(15)))
                assert [r.json() for r in responses] == [1] * 15

    asyncio.run(main())
    assert 1 <= len(opened) <= 15, len(opened)


def test_an_exhausted_pool_is_busy_not_unavailable(
    postgres_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    import asyncio

    app = App()
    Database(app, postgres_server, engine_options={"pool_size": 1, "pool_timeout": 0.2})
    release = asyncio.Event()

    @app.get("/hold")
    async def hold(session: Session) -> int:
        value = int(await session.scalar(select(1)) or 0)
        await asyncio.wait_for(release.wait(), 5)
        return value

    @app.get("/")
    async def index(session: Session) -> int:
        return int(await session.scalar(select(1)) or 0)

    @app.get("/release")
    async def let_go() -> str:
        release.set()
        return "ok"

    from plait.testing import AsyncTestClient

    async def main() -> None:
        async with AsyncTestClient(app) as client:
            holder = asyncio.create_task(client.get("/hold"))
            await asyncio.sleep(0.3)
            responses = [await client.get("/") for _ in range(3)]
            await client.get("/release")
            assert (await holder).json() == 1
            for response in responses:
                assert response.status_code == 503
                assert response.headers["retry-after"] == "1"
                assert "busy" in response.json()["detail"]
            assert (await client.get("/")).json() == 1

    asyncio.run(main())
    lines = outage_lines(caplog)
    assert len(lines) == 1, lines
    assert "busy" in lines[0]
