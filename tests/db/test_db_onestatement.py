"""One-statement commits on PostgreSQL: a request's single write goes without BEGIN/COMMIT.

Each statement is recorded with whether asyncpg had a transaction open when it ran (the
adapter's ``_transaction``, set by the BEGIN it sends before a statement).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from _services import reset_postgres
from plait import App, HTTPException
from plait.db import Database, Model, Session, crud_router
from plait.testing import TestClient

pytestmark = pytest.mark.postgres


class OneNote(Model):
    __tablename__ = "onestatement_note"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(unique=True)


class OneOther(Model):
    __tablename__ = "onestatement_other"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str]
    count: Mapped[int] = mapped_column(default=1)


class OneAudited(Model):
    __tablename__ = "onestatement_audited"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str]


@sa.event.listens_for(OneAudited, "after_insert")
def _audit(mapper: Any, connection: sa.Connection, target: OneAudited) -> None:
    connection.execute(sa.insert(OneNote).values(text=f"audit {target.text}"))


onestatement_tagging = sa.Table(
    "onestatement_tagging",
    Model.metadata,
    sa.Column("post_id", sa.ForeignKey("onestatement_post.id"), primary_key=True),
    sa.Column("tag_id", sa.ForeignKey("onestatement_tag.id"), primary_key=True),
)


class OneTag(Model):
    __tablename__ = "onestatement_tag"
    id: Mapped[int] = mapped_column(primary_key=True)


class OnePost(Model):
    """Deleting a post deletes its tagging rows too: two statements from one object."""

    __tablename__ = "onestatement_post"
    id: Mapped[int] = mapped_column(primary_key=True)
    tags: Mapped[list[OneTag]] = relationship(secondary=onestatement_tagging)


class OnePin(Model):
    """Holds a post: deleting that post fails (a foreign key, no relationship mapped)."""

    __tablename__ = "onestatement_pin"
    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("onestatement_post.id"))


TABLES = [
    OneNote.__table__,
    OneOther.__table__,
    OneAudited.__table__,
    OneTag.__table__,
    OnePost.__table__,
    onestatement_tagging,
    OnePin.__table__,
]


def note_app(url: str) -> tuple[App, Database]:
    app = App()
    db = Database(app, url, engine_options={"pool_size": 2})
    app.include_router(crud_router(OneNote, prefix="/crud"))

    @app.post("/notes/{text}", status_code=201)
    async def add(text: str, session: Session, pair: bool = False) -> OneNote.Read:
        note = OneNote(text=text)
        session.add(note)
        if pair:
            session.add(OneOther(text=text))
        return note  # the commit flushes it before it is answered

    @app.post("/renames/{note_id}")
    async def rename(note_id: int, session: Session) -> OneNote.Read:
        note = await session.get(OneNote, note_id)  # a read outside any transaction
        if note is None:
            raise HTTPException(404)
        note.text = "renamed"
        return note

    @app.post("/audited/{text}", status_code=201)
    async def audited(text: str, session: Session) -> None:
        session.add(OneAudited(text=text))

    @app.delete("/posts/{post_id}", status_code=204)
    async def delete_post(post_id: int, session: Session) -> None:
        await session.delete(await session.get(OnePost, post_id))

    @app.get("/taggings")
    async def taggings(session: Session) -> int:
        return len((await session.execute(sa.select(onestatement_tagging))).all())

    @app.get("/notes")
    async def texts(session: Session) -> list[str]:
        return list(await session.scalars(sa.select(OneNote.text).order_by(OneNote.id)))

    @app.get("/others")
    async def others(session: Session) -> list[str]:
        return list(await session.scalars(sa.select(OneOther.text).order_by(OneOther.id)))

    return app, db


@pytest.fixture
def url(postgres_server: str) -> Iterator[str]:
    reset_postgres(postgres_server)
    _, db = note_app(postgres_server)
    db.run(lambda session: session.run_sync(lambda s: Model.metadata.create_all(s.bind, TABLES)))
    yield postgres_server
    db.run(lambda session: session.run_sync(lambda s: Model.metadata.drop_all(s.bind, TABLES)))


@pytest.fixture
def statements() -> Iterator[list[tuple[str, bool]]]:
    """(verb, whether a transaction was open) of each query sent while the test runs."""
    sent: list[tuple[str, bool]] = []

    def record(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: Any
    ) -> None:
        adapter = context.root_connection.connection.dbapi_connection
        sent.append((statement.split(None, 1)[0].upper(), adapter._transaction is not None))

    sa.event.listen(sa.engine.Engine, "after_cursor_execute", record)
    try:
        yield sent
    finally:
        sa.event.remove(sa.engine.Engine, "after_cursor_execute", record)


def test_one_insert_needs_no_transaction(url: str, statements: list[Any]) -> None:
    app, _ = note_app(url)
    with TestClient(app) as client:
        assert client.post("/notes/a").json() == {"id": 1, "text": "a"}
        assert statements == [("INSERT", False)]
        statements.clear()
        created = client.post("/crud", json={"text": "b"})  # crud_router's create, too
        assert (created.status_code, created.json()) == (201, {"id": 2, "text": "b"})
        assert statements == [("INSERT", False)]
        statements.clear()
        assert client.post("/renames/1").json() == {"id": 1, "text": "renamed"}
        assert statements == [("SELECT", False), ("UPDATE", False)]
        statements.clear()
        assert client.patch("/crud/2", json={"text": "c"}).json() == {"id": 2, "text": "c"}
        assert statements == [("SELECT", False), ("UPDATE", False)]  # crud_router's, too
        assert client.get("/notes").json() == ["renamed", "c"]


def test_two_writes_share_one_transaction(url: str, statements: list[Any]) -> None:
    """Two rows (of two tables) go in one transaction; when one fails, neither is kept."""
    app, _ = note_app(url)
    with TestClient(app) as client:
        assert client.post("/notes/x", params={"pair": True}).status_code == 201
        assert statements == [("INSERT", True), ("INSERT", True)]
        assert client.post("/notes/x", params={"pair": True}).status_code == 409
        assert (client.get("/notes").json(), client.get("/others").json()) == (["x"], ["x"])


def test_a_failed_single_write_is_a_409_and_the_connection_serves_on(url: str) -> None:
    app, _ = note_app(url)
    with TestClient(app) as client:
        assert client.post("/crud", json={"text": "same"}).status_code == 201
        taken = client.post("/crud", json={"text": "same"})
        assert taken.status_code == 409
        assert taken.json()["errors"][0]["loc"] == ["body", "text"]
        assert client.post("/notes/same").status_code == 409
        assert client.post("/notes/other").status_code == 201
        assert client.get("/notes").json() == ["same", "other"]


def test_a_listener_that_writes_keeps_the_transaction(url: str, statements: list[Any]) -> None:
    app, _ = note_app(url)
    with TestClient(app) as client:
        assert client.post("/audited/a").status_code == 201
        assert statements == [("INSERT", True), ("INSERT", True)]
        assert client.get("/notes").json() == ["audit a"]


def test_deleting_a_row_with_collections_keeps_the_transaction(
    url: str, statements: list[Any]
) -> None:
    """One object deleted, but SQLAlchemy deletes its many-to-many rows first: two writes.
    When the second fails, the first must roll back with it (no tagging rows lost)."""
    app, db = note_app(url)

    async def seed(session: Any) -> None:
        session.add(OnePost(id=1, tags=[OneTag(id=1)]))  # one row: no executemany
        await session.flush()
        session.add(OnePin(id=1, post_id=1))
        await session.commit()

    db.run(seed)
    with TestClient(app) as client:
        statements.clear()
        assert client.delete("/posts/1").status_code == 409
        # The tagging row's DELETE ran (the post's failed, so is not recorded) inside the
        # transaction, which the failure rolled back.
        assert [opened for verb, opened in statements if verb == "DELETE"] == [True]
        assert client.get("/taggings").json() == 1
