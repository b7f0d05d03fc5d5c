"""The write path: what crud_router's create and update send to the database, and answer."""

from __future__ import annotations

import decimal
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from plait import App, HTTPException
from plait.db import Database, Model, Session, bulk_update, crud_router, get_or_404, read_all
from plait.db.testing import rolled_back
from plait.testing import TestClient


class WritePlain(Model):
    __tablename__ = "dbwrite_plain"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50), unique=True)
    rank: Mapped[int] = mapped_column(server_default="7")


class WriteNote(Model):
    __tablename__ = "dbwrite_note"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(sa.String(50), unique=True)


class WriteCounted(Model):
    __tablename__ = "dbwrite_counted"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(50))
    edits: Mapped[int] = mapped_column(default=0, onupdate=sa.text("edits + 1"))


class WritePrice(Model):
    __tablename__ = "dbwrite_price"
    id: Mapped[int] = mapped_column(primary_key=True)
    amount: Mapped[decimal.Decimal] = mapped_column(sa.Numeric(10, 2))


class Ids(msgspec.Struct):
    ids: list[int]


class Rename(msgspec.Struct):
    id: int
    name: str | msgspec.UnsetType = msgspec.UNSET
    rank: int | msgspec.UnsetType = msgspec.UNSET
    note: str = "not a column"


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """The verb of every query sent while the test runs (SELECT, INSERT, UPDATE, DELETE; not
    the savepoints of ``rolled_back``)."""
    sent: list[str] = []

    def record(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        verb = statement.split(None, 1)[0].upper()
        if verb in ("SELECT", "INSERT", "UPDATE", "DELETE"):
            sent.append(f"{verb} x{len(params)}" if many else verb)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    app = App()
    db = Database(app, db_url)
    app.include_router(crud_router(WritePlain, prefix="/plain"))
    app.include_router(crud_router(WritePrice, prefix="/prices"))
    app.include_router(crud_router(WriteCounted, prefix="/counted"))

    @app.post("/ranks")
    async def rerank(data: Ids, session: Session, fail: bool = False) -> list[WritePlain.Read]:
        rows = [await get_or_404(session, WritePlain.Read, pk) for pk in data.ids]
        for row in rows:
            row.rank = row.id * 10
        await bulk_update(session, WritePlain, rows)
        if fail:
            raise HTTPException(409, "refused after the writes")
        return rows

    with rolled_back(db, create_all=True), TestClient(app) as test_client:
        yield test_client


def test_a_create_of_plain_columns_is_one_insert(client: TestClient, statements: list[str]) -> None:
    """The flushed object already holds what was stored (the server default came back with
    the INSERT, or is read back): no SELECT follows the INSERT."""
    response = client.post("/plain", json={"name": "ada"})
    assert response.status_code == 201
    assert response.json() == {"id": 1, "name": "ada", "rank": 7}
    assert statements == ["INSERT"]
    assert client.get("/plain/1").json() == response.json()
    statements.clear()
    patched = client.patch("/plain/1", json={"rank": 3})
    assert patched.json() == {"id": 1, "name": "ada", "rank": 3}
    assert statements == ["SELECT", "UPDATE"]  # the row to change, then its UPDATE


def test_a_value_the_database_changes_is_answered_as_stored(client: TestClient) -> None:
    """A Numeric column rounds to its scale: the answer is the stored value, read back."""
    created = client.post("/prices", json={"amount": "1.234"})
    assert created.status_code == 201
    assert created.json() == {"id": 1, "amount": "1.23"}
    patched = client.patch("/prices/1", json={"amount": "2.345"})
    assert patched.json()["amount"] in ("2.35", "2.34")  # the database's rounding
    assert client.get("/prices/1").json() == patched.json()


def test_a_value_the_database_computes_on_update_is_answered(client: TestClient) -> None:
    created = client.post("/counted", json={"title": "a"}).json()
    assert created == {"id": 1, "title": "a", "edits": 0}
    assert client.patch("/counted/1", json={"title": "b"}).json()["edits"] == 1
    assert client.put("/counted/1", json={"title": "c"}).json() == {
        "id": 1, "title": "c", "edits": 2
    }  # fmt: skip


def test_a_conflict_is_still_409(client: TestClient) -> None:
    assert client.post("/plain", json={"name": "a"}).status_code == 201
    again = client.post("/plain", json={"name": "a"})
    assert again.status_code == 409
    assert again.json()["errors"][0]["loc"] == ["body", "name"]
    other = client.post("/plain", json={"name": "b"}).json()["id"]
    renamed = client.patch(f"/plain/{other}", json={"name": "a"})  # the UPDATE, at the commit
    assert renamed.status_code == 409
    assert client.get(f"/plain/{other}").json()["name"] == "b"


def test_bulk_update_writes_rows_in_one_batch_in_key_order(
    client: TestClient, statements: list[str]
) -> None:
    for name in "abc":
        assert client.post("/plain", json={"name": name}).status_code == 201
    statements.clear()
    answered = client.post("/ranks", json={"ids": [3, 1, 2]})
    assert [row["rank"] for row in answered.json()] == [30, 10, 20], answered.text
    assert statements == ["SELECT", "SELECT", "SELECT", "UPDATE x3"]
    listed = client.get("/plain", params={"sort": "id"}).json()["items"]
    assert [(row["id"], row["name"], row["rank"]) for row in listed] == [
        (1, "a", 10), (2, "b", 20), (3, "c", 30)
    ]  # fmt: skip


def test_bulk_update_is_part_of_the_request_transaction(client: TestClient) -> None:
    assert client.post("/plain", json={"name": "a"}).status_code == 201
    assert client.post("/ranks", params={"fail": True}, json={"ids": [1]}).status_code == 409
    assert client.get("/plain/1").json()["rank"] == 7


def test_bulk_update_takes_structs_and_mappings(db_url: str) -> None:
    """``UNSET`` fields and fields that are no columns are left alone, and with ``fields``
    only those are written; a row must name its key."""
    app = App()
    db = Database(app, db_url)
    seen: list[Any] = []

    @app.post("/run")
    async def run(session: Session) -> list[WritePlain.Read]:
        session.add_all([WritePlain(name="a"), WritePlain(name="b")])
        await session.flush()
        await bulk_update(session, WritePlain, [{"id": 2, "rank": 1}, {"id": 1, "rank": 2}])
        await bulk_update(session, WritePlain, [Rename(id=1, name="z")])
        await bulk_update(session, WritePlain, [{"id": 2, "name": "y", "rank": 9}], fields=["name"])
        await bulk_update(session, WritePlain, [])
        for rows, fields in (([{"rank": 3}], None), ([{"id": 1}], ["nickname"])):
            try:
                await bulk_update(session, WritePlain, rows, fields=fields)
            except ValueError as exc:
                seen.append(str(exc))
        return await read_all(session, WritePlain.Read, sa.select(WritePlain).order_by("id"))

    with rolled_back(db, create_all=True), TestClient(app) as client:
        assert client.post("/run").json() == [
            {"id": 1, "name": "z", "rank": 2},
            {"id": 2, "name": "y", "rank": 1},
        ]
    assert seen == [
        "bulk_update(WritePlain): a row without its key ['id']",
        "bulk_update(WritePlain): no columns ['nickname']",
    ]


def test_a_single_write_runs_outside_a_transaction(db_url: str) -> None:
    """A request's one INSERT is its own transaction: on PostgreSQL no BEGIN and COMMIT
    round trips, on SQLite no BEGIN IMMEDIATE (tests/db/test_db_onestatement.py has more)."""
    app = App()
    db = Database(app, db_url)
    app.include_router(crud_router(WriteNote, prefix="/notes"))
    db.run(lambda session: session.run_sync(lambda s: WriteNote.__table__.create(s.bind)))
    seen: list[bool] = []

    def record(conn: Any) -> None:  # when SQLAlchemy commits: is a transaction open?
        pooled = conn.connection
        if db_url.startswith("postgresql"):
            seen.append(pooled.dbapi_connection._transaction is not None)
        else:
            seen.append(pooled.driver_connection.in_transaction)

    sa.event.listen(sa.engine.Engine, "commit", record)
    try:
        with TestClient(app) as client:
            assert client.post("/notes", json={"text": "a"}).json() == {"id": 1, "text": "a"}
            assert seen == [False]
            assert client.post("/notes", json={"text": "a"}).status_code == 409
            assert client.get("/notes/1").json() == {"id": 1, "text": "a"}
    finally:
        sa.event.remove(sa.engine.Engine, "commit", record)
