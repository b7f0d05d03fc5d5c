"""SQLite under concurrent requests: writers queue on the lock, readers do not wait.

Each test has a SQLite file of its own. A request that reads and then writes used to begin a
deferred transaction, whose first write must upgrade its read lock: SQLite refuses that at
once ("database is locked", a 503) while another connection writes, without waiting for the
busy timeout. plait.db now begins the transaction with ``BEGIN IMMEDIATE`` at the first
statement that may write, so writers wait for each other, and reads before it run outside
any transaction, so read-only requests never wait for a writer.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import select, text
from sqlalchemy.orm import Mapped, mapped_column

from plait import App, HTTPException
from plait.db import POOL_SIZE, Database, Model, Session
from plait.testing import AsyncTestClient, TestClient

CLIENTS = 24


class SqliteCounter(Model):
    __tablename__ = "lane_sqlite_counter"
    id: Mapped[int] = mapped_column(primary_key=True)
    hits: Mapped[int]
    note: Mapped[str] = mapped_column(default="")


def counter_app(path: Path | str, **options: Any) -> tuple[App, Database]:
    app = App()
    db = Database(app, f"sqlite:///{path}", **options)

    @app.post("/hits")
    async def hit(session: Session) -> int:
        counter = await session.get(SqliteCounter, 1)  # a read...
        assert counter is not None
        await asyncio.sleep(0.001)  # ...other requests read meanwhile...
        counter.hits = SqliteCounter.hits + 1  # ...then a write, flushed at the commit
        return 1

    @app.get("/hits")
    async def hits(session: Session) -> int:
        return int(await session.scalar(select(SqliteCounter.hits)) or 0)

    @app.post("/notes/{note}")
    async def write(note: str, session: Session, fail: bool = False) -> dict[str, Any]:
        counter = await session.get(SqliteCounter, 1)
        assert counter is not None
        counter.note = note
        await session.flush()
        seen = await session.scalar(select(SqliteCounter.note))  # its own change
        if fail:
            raise HTTPException(409, "refused after the write")
        return {"seen": seen}

    @app.get("/notes")
    async def note(session: Session) -> str:
        return str(await session.scalar(select(SqliteCounter.note)))

    return app, db


def create_counter(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE lane_sqlite_counter"
            " (id INTEGER PRIMARY KEY, hits INTEGER NOT NULL, note TEXT NOT NULL)"
        )
        conn.execute("INSERT INTO lane_sqlite_counter VALUES (1, 0, '')")
    conn.close()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    path = tmp_path / "concurrent.sqlite3"
    create_counter(path)
    return path


def test_concurrent_read_then_write_requests_queue_instead_of_failing(path: Path) -> None:
    app, _ = counter_app(path)

    async def burst() -> list[int]:
        async with AsyncTestClient(app) as client:
            responses = await asyncio.wait_for(
                asyncio.gather(*(client.post("/hits") for _ in range(CLIENTS))), 20
            )
            return [response.status_code for response in responses]

    assert asyncio.run(burst()) == [200] * CLIENTS
    with TestClient(app) as client:
        assert client.get("/hits").json() == CLIENTS


def test_a_burst_reuses_the_pooled_connections_instead_of_opening_more(path: Path) -> None:
    app, db = counter_app(path)
    opened: list[object] = []

    @app.get("/slow")
    async def slow(session: Session) -> int:
        hits = int(await session.scalar(select(SqliteCounter.hits)) or 0)
        await asyncio.sleep(0.01)  # holds its connection while the others arrive
        return hits

    async def burst() -> list[int]:
        async with AsyncTestClient(app) as client:
            sa.event.listen(db.engine.sync_engine, "connect", lambda *args: opened.append(args))
            responses = await asyncio.wait_for(
                asyncio.gather(*(client.get("/slow") for _ in range(2 * POOL_SIZE))), 20
            )
            # Every connection opened is kept for the next requests (none closed as overflow).
            assert db.engine.sync_engine.pool.checkedin() == len(opened)  # type: ignore[attr-defined]
            return [response.status_code for response in responses]

    assert asyncio.run(burst()) == [200] * 2 * POOL_SIZE
    assert 1 <= len(opened) <= POOL_SIZE


def test_a_request_sees_its_own_write_and_an_error_rolls_it_back(path: Path) -> None:
    app, _ = counter_app(path)
    with TestClient(app) as client:
        assert client.post("/notes/kept").json() == {"seen": "kept"}
        assert client.post("/notes/lost", params={"fail": "true"}).status_code == 409
        assert client.get("/notes").text == "kept"


def test_reads_run_outside_a_transaction_until_a_write_begins_one(path: Path) -> None:
    app, _ = counter_app(path)

    async def in_transaction(session: Any) -> bool:
        raw = await (await session.connection()).get_raw_connection()
        return bool(raw.driver_connection.in_transaction)

    @app.post("/phases")
    async def phases(session: Session) -> list[bool]:
        await session.get(SqliteCounter, 1)
        after_read = await in_transaction(session)
        await session.execute(text("UPDATE lane_sqlite_counter SET hits = hits + 1"))
        return [after_read, await in_transaction(session)]

    with TestClient(app) as client:
        assert client.post("/phases").json() == [False, True]
        assert client.get("/hits").json() == 1


def held_write_lock(path: Path) -> sqlite3.Connection:
    """Another connection in the middle of a write transaction (not committed)."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE lane_sqlite_counter SET note = 'uncommitted'")
    return holder


def test_reads_do_not_wait_for_a_writer_and_writes_wait_at_most_the_timeout(path: Path) -> None:
    app, _ = counter_app(path, engine_options={"connect_args": {"timeout": 0.05}})
    with TestClient(app) as client:
        client.get("/hits")  # the app's connection has put the file in WAL mode
        holder = held_write_lock(path)
        try:
            assert client.get("/notes").text == ""  # the last committed value
            response = client.post("/hits")
            assert response.status_code == 503
            assert response.headers["retry-after"] == "5"
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert client.post("/hits").status_code == 200


def test_lazy_begin_false_keeps_reads_in_an_immediate_transaction(path: Path) -> None:
    app, _ = counter_app(path, lazy_begin=False, engine_options={"connect_args": {"timeout": 0.05}})
    with TestClient(app) as client:
        assert client.post("/notes/first").json() == {"seen": "first"}
        holder = held_write_lock(path)
        try:
            # Its reads share the transaction's snapshot, so it waits for the writer.
            assert client.get("/notes").status_code == 503
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert client.get("/notes").text == "first"


def journal_mode_and_timeout(app: App) -> list[Any]:
    @app.get("/settings")
    async def settings(session: Session) -> list[Any]:
        return [
            await session.scalar(text("PRAGMA journal_mode")),
            await session.scalar(text("PRAGMA busy_timeout")),
            await session.scalar(text("PRAGMA foreign_keys")),
        ]

    with TestClient(app) as client:
        return list(client.get("/settings").json())


def test_wal_and_a_five_second_busy_timeout_by_default(path: Path) -> None:
    app, _ = counter_app(path)
    assert journal_mode_and_timeout(app) == ["wal", 5000, 1]


def test_the_journal_mode_and_timeout_can_be_changed(path: Path) -> None:
    app, _ = counter_app(
        path,
        sqlite_pragmas={"journal_mode": None, "synchronous": "NORMAL"},
        engine_options={"connect_args": {"timeout": 20}},
    )
    assert journal_mode_and_timeout(app) == ["delete", 20000, 1]


def test_a_read_only_database_keeps_its_journal_mode(path: Path) -> None:
    # Setting WAL writes to the file: on a read-only one the mode stays (here "delete").
    read_only, _ = counter_app(f"file:{path}?mode=ro&uri=true")
    with TestClient(read_only) as client:
        assert client.get("/hits").json() == 0


def test_a_connection_given_back_in_a_transaction_is_rolled_back(path: Path) -> None:
    _, db = counter_app(path)
    engine = db.sync_engine()  # the same connection set-up as the app's engine
    try:
        raw = engine.raw_connection()
        raw.cursor().execute("BEGIN IMMEDIATE")
        raw.cursor().execute("UPDATE lane_sqlite_counter SET note = 'dropped'")
        raw.close()  # back to the pool with its transaction open
        with engine.connect() as connection:  # the pool's one idle connection: the same
            assert connection.exec_driver_sql("SELECT note FROM lane_sqlite_counter").scalar() == ""
    finally:
        engine.dispose()
