"""Database errors become problem responses: 409/422 naming the field, 503 with Retry-After."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from db_harness import Article, Author, serving
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from _services import POSTGRES_URL, postgres_execute_async, require_postgres
from plait import App
from plait.db import Database, Session
from plait.db._errorhandling import describe_integrity_error, is_unavailable
from plait.testing import TestClient


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


def test_unique_violation_is_409_naming_the_field(db_url: str) -> None:
    with serving(db_url) as client:
        assert client.post("/articles", json={"title": "same", "body": "b"}).status_code == 201
        body = problem(client.post("/articles", json={"title": "same", "body": "c"}), 409)
        assert body["detail"] == "A row with this title already exists"
        assert body["errors"] == [
            {"loc": ["body", "title"], "msg": "already exists", "type": "unique"}
        ]
        # The failed request rolled back: the app carries on.
        assert client.get("/articles").json()["total"] == 1


def test_missing_reference_is_422_naming_the_field(db_url: str) -> None:
    with serving(db_url) as client:
        response = client.post("/articles", json={"title": "t", "body": "b", "author_id": 404})
        body = problem(response, 422)
        assert body["errors"][0]["loc"] == ["body", "author_id"]
        assert body["constraint"] == "foreign_key"


def test_check_violation_is_422(db_url: str) -> None:
    with serving(db_url) as client:
        # The schema knows the simple check (views >= 0) and refuses first…
        body = problem(client.post("/articles", json={"title": "t", "body": "b", "views": -1}), 422)
        assert body["errors"][0]["loc"] == ["body", "views"]
    app = App()
    Database(app, db_url, auto_migrate=True, migrations="/nonexistent")

    @app.post("/raw")
    async def raw(session: Session) -> None:
        session.add(Article(title="t", body="b", views=-1))  # …the database, for everyone else
        await session.flush()

    with TestClient(app) as client:
        assert "ck_article_views_not_negative" in problem(client.post("/raw"), 422)["detail"]


def test_not_null_violation_is_422(db_url: str) -> None:
    app = App()
    Database(app, db_url, auto_migrate=True, migrations="/nonexistent")

    @app.post("/raw")
    async def raw(session: Session) -> None:
        session.add(Article(title="t", body=None))  # what a careless handler might do
        await session.flush()

    with TestClient(app) as client:
        body = problem(client.post("/raw"), 422)
        assert body["detail"] == "body may not be null"
        assert body["errors"][0]["loc"] == ["body", "body"]


def test_deleting_a_referenced_row_is_409(db_url: str) -> None:
    app = App()
    Database(app, db_url, auto_migrate=True, migrations="/nonexistent")

    @app.post("/setup")
    async def setup(session: Session) -> None:
        author = Author(name="a", password="x")
        session.add(author)
        await session.flush()
        session.add(Article(title="t", body="b", author_id=author.id))

    @app.delete("/authors/{author_id}", status_code=204)
    async def delete(author_id: int, session: Session) -> None:
        await session.execute(sa.delete(Author).where(Author.id == author_id))

    with TestClient(app) as client:
        client.post("/setup")
        body = problem(client.delete("/authors/1"), 409)
        assert body["detail"].startswith("This row is still referenced by other rows")


def test_values_a_column_cannot_hold_are_422_on_postgres(postgres_server: str) -> None:
    app = App()
    Database(app, postgres_server, auto_migrate=True, migrations="/nonexistent")

    @app.post("/raw")
    async def raw(session: Session) -> None:
        await session.execute(text("SELECT CAST('99999999999' AS integer)"))

    with TestClient(app) as client:
        assert (
            problem(client.post("/raw"), 422)["detail"]
            == "A value does not fit its database column"
        )


def test_other_database_errors_stay_500(tmp_path: Path) -> None:
    app = App()
    Database(app, f"sqlite:///{tmp_path}/x.db")

    @app.get("/")
    async def index(session: Session) -> None:
        await session.execute(select(Article))  # no such table: a bug, not the client's fault

    with TestClient(app) as client:
        assert problem(client.get("/"), 500)["title"] == "Internal Server Error"


# ---------------------------------------------------------------------------- unavailable


def test_refused_connection_is_503_with_retry_after() -> None:
    app = App()
    Database(app, "postgresql://postgres@127.0.0.1:1/nowhere")

    @app.get("/")
    async def index(session: Session) -> int:
        return int(await session.scalar(select(1)) or 0)

    with TestClient(app) as client:
        response = client.get("/")
        body = problem(response, 503)
        assert response.headers["retry-after"] == "5"
        assert "unavailable" in body["detail"]


def test_connection_lost_mid_request_is_503(postgres_server: str) -> None:
    app = App()
    Database(app, postgres_server)

    @app.get("/")
    async def index(session: Session) -> int:
        pid = await session.scalar(text("SELECT pg_backend_pid()"))
        await postgres_execute_async(POSTGRES_URL, f"SELECT pg_terminate_backend({pid})")
        return int(await session.scalar(select(1)) or 0)

    with TestClient(app) as client:
        assert client.get("/").status_code == 503
        # The next request gets a fresh connection (pre-ping drops the dead one).
        assert client.get("/healthy").status_code == 404


def test_locked_sqlite_database_is_503(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    app = App()
    Database(app, f"sqlite:///{path}", engine_options={"connect_args": {"timeout": 0.05}})

    @app.post("/")
    async def write(session: Session) -> None:
        await session.execute(text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))

    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with TestClient(app) as client:
            response = client.post("/")
            problem(response, 503)
            assert response.headers["retry-after"] == "5"
    finally:
        holder.execute("ROLLBACK")
        holder.close()


# ---------------------------------------------------------------------------- parsing


class _Orig(Exception):
    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        for key, value in fields.items():
            setattr(self, key, value)


def integrity(message: str, **fields: Any) -> IntegrityError:
    return IntegrityError("INSERT …", {}, _Orig(message, **fields))


@pytest.mark.parametrize(
    ("message", "fields", "kind", "columns", "constraint"),
    [
        ("UNIQUE constraint failed: article.title", {}, "unique", ["title"], None),
        ("UNIQUE constraint failed: t.a, t.b", {}, "unique", ["a", "b"], None),
        ("UNIQUE constraint failed: index 'ix_lower_name'", {}, "unique", [], None),
        ("NOT NULL constraint failed: article.body", {}, "not_null", ["body"], None),
        ("CHECK constraint failed: ck_article_views", {}, "check", [], "ck_article_views"),
        ("FOREIGN KEY constraint failed", {}, "foreign_key", [], None),
        ("something else entirely", {}, "unknown", [], None),
        (
            'duplicate key value violates unique constraint "uq_t_a_b"',
            {"sqlstate": "23505", "detail": 'Key (a, "b")=(1, 2) already exists.'},
            "unique",
            ["a", "b"],
            None,
        ),
        (
            'null value in column "body" of relation "article" violates not-null constraint',
            {"sqlstate": "23502"},
            "not_null",
            ["body"],
            None,
        ),
        (
            'new row for relation "article" violates check constraint "ck_article_views"',
            {"sqlstate": "23514"},
            "check",
            [],
            "ck_article_views",
        ),
    ],
)
def test_describe_integrity_errors(
    message: str, fields: dict[str, Any], kind: str, columns: list[str], constraint: str | None
) -> None:
    violation = describe_integrity_error(integrity(message, **fields))
    assert (violation.kind, violation.fields) == (kind, columns)
    if constraint is not None:
        assert violation.constraint == constraint


def test_foreign_key_still_referenced_on_postgres() -> None:
    error = integrity(
        "update or delete violates foreign key constraint",
        sqlstate="23503",
        detail='Key (id)=(1) is still referenced from table "article".',
    )
    violation = describe_integrity_error(error)
    assert violation.referenced
    assert violation.fields == ["id"]


def test_is_unavailable() -> None:
    assert is_unavailable(sa.exc.TimeoutError())
    assert not is_unavailable(ValueError())
    locked = sa.exc.OperationalError("SELECT 1", {}, _Orig("database is locked"))
    assert is_unavailable(locked)
    missing = sa.exc.OperationalError("SELECT 1", {}, _Orig("no such table: x"))
    assert not is_unavailable(missing)
    shutdown = sa.exc.OperationalError("SELECT 1", {}, _Orig("bye", sqlstate="57P01"))
    assert is_unavailable(shutdown)


def test_postgres_helper_skips_or_fails_cleanly() -> None:
    # The fixture machinery itself: with the server up this is a no-op.
    require_postgres()
