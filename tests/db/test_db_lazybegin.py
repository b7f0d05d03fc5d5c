"""Lazy BEGIN on PostgreSQL: reads run outside a transaction until a statement may write.

``now()`` is the time the transaction began: two reads of it, a short sleep apart, agree
only if both ran in one transaction, which is how the tests see where BEGIN went.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Mapped, mapped_column

from _services import reset_postgres
from plait import App, HTTPException
from plait.db import Database, Model, Session
from plait.testing import TestClient

pytestmark = pytest.mark.postgres


class LazyBeginNote(Model):
    __tablename__ = "lazybegin_note"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str]


PAUSE = select(func.pg_sleep(0.002))


async def in_transaction(session: Any) -> bool:
    """Whether this statement and the session's next one run in the same transaction."""
    began = await session.scalar(select(func.now()))
    await session.execute(PAUSE)
    return bool(began == await session.scalar(select(func.now())))


def lazy_app(url: str, **options: Any) -> tuple[App, Database]:
    app = App()
    db = Database(app, url, engine_options={"pool_size": 2}, **options)

    @app.get("/reads")
    async def reads(session: Session) -> bool:
        return await in_transaction(session)

    @app.get("/locks")
    async def locks(session: Session) -> bool:
        await session.scalars(select(LazyBeginNote).with_for_update())
        return await in_transaction(session)

    @app.post("/notes/{text}")
    async def write(text: str, session: Session, fail: bool = False) -> dict[str, Any]:
        session.add(LazyBeginNote(text=text))
        await session.flush()
        seen = await session.scalar(select(func.count()).where(LazyBeginNote.text == text))
        if fail:
            raise HTTPException(409, "refused after the write")
        return {"seen": seen, "in_transaction": await in_transaction(session)}

    @app.post("/renames")
    async def rename_all(session: Session) -> None:
        notes = list(await session.scalars(select(LazyBeginNote)))  # read outside...
        for note in notes:
            note.text = "renamed"
        await session.flush()  # ...then one UPDATE for many rows (executemany) begins
        raise HTTPException(409, "refused after the update")

    @app.get("/streamed")
    async def streamed(session: Session) -> list[str]:
        # A server-side cursor: asyncpg opens one only inside a transaction.
        return [note.text async for note in await session.stream_scalars(select(LazyBeginNote))]

    @app.get("/notes/{text}")
    async def count(text: str, session: Session) -> int:
        return int(await session.scalar(select(func.count()).where(LazyBeginNote.text == text)))

    return app, db


@pytest.fixture
def url(postgres_server: str) -> Iterator[str]:
    # The session's database, emptied: another test's create_all() of the whole (shared) model
    # registry may have made this table already.
    reset_postgres(postgres_server)
    app, db = lazy_app(postgres_server)
    with TestClient(app):
        db.run(lambda session: session.run_sync(lambda s: LazyBeginNote.__table__.create(s.bind)))
        yield postgres_server
        db.run(lambda session: session.run_sync(lambda s: LazyBeginNote.__table__.drop(s.bind)))


def test_reads_run_outside_a_transaction_and_leave_no_connection(url: str) -> None:
    app, db = lazy_app(url)
    with TestClient(app) as client:
        assert client.get("/reads").json() is False
        assert db.engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_a_write_opens_the_transaction_and_later_reads_run_in_it(url: str) -> None:
    app, _ = lazy_app(url)
    with TestClient(app) as client:
        assert client.post("/notes/kept").json() == {"seen": 1, "in_transaction": True}
        assert client.get("/notes/kept").json() == 1


def test_an_error_after_a_write_rolls_it_back(url: str) -> None:
    app, db = lazy_app(url)
    with TestClient(app) as client:
        assert client.post("/notes/lost", params={"fail": "true"}).status_code == 409
        assert client.get("/notes/lost").json() == 0

        # The connection the failed request used serves a plain transaction again.
        async def insert_then_roll_back(session: Any) -> None:
            session.add(LazyBeginNote(text="rolled"))
            await session.flush()
            await session.rollback()

        db.run(insert_then_roll_back)
        assert client.get("/notes/rolled").json() == 0


def test_select_for_update_opens_the_transaction(url: str) -> None:
    app, _ = lazy_app(url)
    with TestClient(app) as client:
        assert client.get("/locks").json() is True


@pytest.mark.parametrize(
    "options",
    [
        {"lazy_begin": False},
        {"engine_options": {"pool_size": 2, "isolation_level": "REPEATABLE READ"}},
    ],
    ids=["lazy_begin=False", "repeatable-read"],
)
def test_reads_stay_in_the_transaction_when_asked_or_isolated(
    url: str, options: dict[str, Any]
) -> None:
    app = App()
    db = Database(app, url, **{"engine_options": {"pool_size": 2}, **options})

    @app.get("/reads")
    async def reads(session: Session) -> bool:
        return await in_transaction(session)

    with TestClient(app) as client:
        assert client.get("/reads").json() is True
        assert db.engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_a_many_row_update_after_reads_is_rolled_back_too(url: str) -> None:
    app, _ = lazy_app(url)
    with TestClient(app) as client:
        assert client.post("/notes/first").status_code == 200
        assert client.post("/notes/second").status_code == 200
        assert client.post("/renames").status_code == 409
        assert client.get("/notes/renamed").json() == 0
        assert client.get("/notes/first").json() == 1


def test_a_streamed_read_runs_in_a_transaction(url: str) -> None:
    app, db = lazy_app(url)
    with TestClient(app) as client:
        assert client.post("/notes/streamed").status_code == 200
        assert client.get("/streamed").json() == ["streamed"]
        assert db.engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
