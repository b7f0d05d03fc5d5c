"""Test clients and a Database: every connection a client's event loop opened is closed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import Pool

from plait import App
from plait.db import Database, Session
from plait.testing import TestClient


@pytest.fixture
def open_connections() -> Iterator[list[Any]]:
    """The DBAPI connections opened and not closed yet, by any engine of the test."""
    opened: list[Any] = []

    def on_connect(dbapi_connection: Any, record: Any) -> None:
        opened.append(dbapi_connection)

    def on_close(dbapi_connection: Any, record: Any) -> None:
        opened.remove(dbapi_connection)

    sa.event.listen(Pool, "connect", on_connect)
    sa.event.listen(Pool, "close", on_close)
    sa.event.listen(Pool, "close_detached", on_close)
    yield opened
    sa.event.remove(Pool, "connect", on_connect)
    sa.event.remove(Pool, "close", on_close)
    sa.event.remove(Pool, "close_detached", on_close)


def _app(db_url: str) -> App:
    app = App()
    Database(app, db_url)

    @app.get("/one")
    async def one(session: Session) -> int:
        return int(await session.scalar(sa.select(sa.literal(1))) or 0)

    return app


def test_two_test_clients_on_one_app_close_their_connections(
    db_url: str, open_connections: list[Any]
) -> None:
    app = _app(db_url)
    with TestClient(app) as first:
        assert first.get("/one").json() == 1
        with TestClient(app) as second:  # another event loop: an engine of its own
            assert second.get("/one").json() == 1
            assert first.get("/one").json() == 1
        assert first.get("/one").json() == 1  # the first client's engine is still its own
    assert open_connections == []
    with TestClient(app) as again:  # one after the other, as tests do
        assert again.get("/one").json() == 1
    assert open_connections == []


def test_a_failed_start_up_closes_the_database(tmp_path: Path, open_connections: list[Any]) -> None:
    app = _app(f"sqlite:///{tmp_path / 'app.sqlite3'}")
    db = Database.of(app)

    @app.on_startup
    async def warm_up() -> None:
        async with db.session() as session:
            await session.execute(sa.select(sa.literal(1)))  # a connection is pooled now
        raise ConnectionError("the cache is down")

    with pytest.raises(RuntimeError, match="cache is down"), TestClient(app):
        pass
    assert open_connections == []


def test_a_failed_migration_closes_the_engine(tmp_path: Path, open_connections: list[Any]) -> None:
    app = App()
    db = Database(app, f"sqlite:///{tmp_path / 'app.sqlite3'}", auto_migrate=True)

    @app.on_startup
    async def fine() -> None:
        pass

    async def broken_migrate() -> None:
        async with db.session() as session:
            await session.execute(sa.select(sa.literal(1)))
        raise RuntimeError("migration 0002 failed")

    db.migrate = broken_migrate  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="migration 0002 failed"), TestClient(app):
        pass
    assert open_connections == []
