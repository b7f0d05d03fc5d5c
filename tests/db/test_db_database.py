"""Database and Session: the engine's lifecycle, one session per request, commit/rollback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

import pytest
import sqlalchemy as sa
from db_harness import Article, Author, serving
from sqlalchemy import ForeignKey, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from plait import App, Depends, HTTPException, Settings
from plait.db import Database, MissingDependencyError, Model, Session, get_session
from plait.db._database import normalize_url
from plait.testing import TestClient


class Deferred(Model):
    """A foreign key checked only at COMMIT (both databases support deferring it)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(
        ForeignKey("author.id", deferrable=True, initially="DEFERRED")
    )


async def audit(session: Session) -> AsyncSession:
    return session


Audited = Annotated[AsyncSession, Depends(audit)]


def count_articles(client: TestClient) -> int:
    total: int = client.get("/articles").json()["total"]
    return total


# ---------------------------------------------------------------------------- URLs


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///./x.sqlite3", "sqlite+aiosqlite:///./x.sqlite3"),
        ("sqlite+aiosqlite:///:memory:", "sqlite+aiosqlite:///:memory:"),
        ("postgres://u:p@h/db", "postgresql+asyncpg://u:p@h/db"),
        ("postgresql://u@h:5433/db", "postgresql+asyncpg://u@h:5433/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_urls_get_an_async_driver(given: str, expected: str) -> None:
    assert normalize_url(given) == sa.make_url(expected)


def test_sync_drivers_and_garbage_are_refused() -> None:
    with pytest.raises(ValueError, match="synchronous driver 'sqlite\\+pysqlite'"):
        normalize_url("sqlite+pysqlite:///x.db")
    with pytest.raises(ValueError, match="is not a database URL"):
        normalize_url("not a url")


def test_a_missing_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "asyncpg", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'plait\[postgres\]'"):
        Database(url="postgresql://u@h/db")
    assert issubclass(MissingDependencyError, ImportError)


def test_url_from_settings_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PLAIT_DATABASE_URL", raising=False)
    project = tmp_path.name
    assert str(Database().url) == f"sqlite+aiosqlite:///./{project}.sqlite3"
    monkeypatch.setenv("PLAIT_DATABASE_URL", "sqlite:///./env.sqlite3")
    assert str(Database().url) == "sqlite+aiosqlite:///./env.sqlite3"
    settings = Settings.load(environ={}, env_file=None, check=False, DATABASE_URL="sqlite://")
    assert str(Database(settings=settings).url) == "sqlite+aiosqlite://"
    assert str(Database(url="sqlite:///./explicit.db", settings=settings).url).endswith(
        "explicit.db"
    )


def test_repr_hides_the_password() -> None:
    assert "secret" not in repr(Database(url="postgresql://u:secret@h/db"))


# ---------------------------------------------------------------------------- the app


def test_database_registers_on_the_app(tmp_path: Path) -> None:
    app = App()
    db = Database(app, f"sqlite:///{tmp_path}/a.db")
    assert Database.of(app) is db
    other = Database(app, f"sqlite:///{tmp_path}/b.db", name="other")
    assert Database.of(app, "other") is other
    with pytest.raises(RuntimeError, match="already has a database named 'default'"):
        Database(app, f"sqlite:///{tmp_path}/c.db")
    with pytest.raises(RuntimeError, match="No database named 'nope'"):
        Database.of(app, "nope")
    with pytest.raises(RuntimeError, match="create one with Database\\(app\\)"):
        Database.of(App())


def test_session_without_a_database_is_a_clear_error() -> None:
    app = App()

    @app.get("/")
    async def index(session: Session) -> str:
        return "unreachable"

    with TestClient(app) as client:
        assert client.get("/").status_code == 500


def test_missing_sqlite_directory_fails_start_up(tmp_path: Path) -> None:
    app = App()
    Database(app, f"sqlite:///{tmp_path}/missing/dir/app.db")
    with pytest.raises(RuntimeError, match="directory that does not exist"), TestClient(app):
        pass


def test_engine_is_opened_and_disposed_with_the_app(db_url: str) -> None:
    app = App()
    db = Database(app, db_url)
    before = dict(db._engines)
    with TestClient(app) as client:
        assert before == {}
        assert len(db._engines) == 1
        assert client.get("/missing").status_code == 404
    assert db._engines == {}


def test_engine_is_created_lazily_without_lifespan(tmp_path: Path) -> None:
    app = App()
    db = Database(app, f"sqlite:///{tmp_path}/lazy.db")

    @app.get("/")
    async def index(session: Session) -> int:
        return int(await session.scalar(select(sa.literal(41) + 1)) or 0)

    client = TestClient(app)
    assert client.get("/").json() == 42
    assert len(db._engines) == 1
    client._portal_call(db.disconnect())
    client.close()


# ---------------------------------------------------------------------------- sessions


def test_commits_persist_across_restarts(db_url: str) -> None:
    with serving(db_url) as client:
        assert client.post("/articles", json={"title": "kept", "body": "b"}).status_code == 201
    with serving(db_url) as client:
        assert count_articles(client) == 1


def test_handler_errors_roll_back(db_url: str) -> None:
    app = App()
    Database(app, db_url, auto_migrate=True, migrations="/nonexistent")

    @app.post("/fail")
    async def fail(session: Session) -> None:
        session.add(Author(name="doomed", password="x"))
        await session.flush()
        raise HTTPException(400, "nope")

    @app.get("/count")
    async def count(session: Session) -> int:
        return len((await session.scalars(select(Author))).all())

    with TestClient(app) as client:
        assert client.post("/fail").status_code == 400
        assert client.get("/count").json() == 0


def test_a_failed_commit_is_an_error_response_not_a_success(db_url: str) -> None:
    app = App()
    Database(app, db_url, auto_migrate=True, migrations="/nonexistent")

    @app.post("/deferred", status_code=201)
    async def create(session: Session) -> dict[str, str]:
        session.add(Deferred(author_id=12345))  # checked only when the session commits
        await session.flush()
        return {"status": "created"}

    with TestClient(app) as client:
        response = client.post("/deferred")
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"


def test_one_session_per_request_shared_by_dependencies(db_url: str) -> None:
    app = App()
    Database(app, db_url)
    seen: list[AsyncSession] = []

    @app.get("/")
    async def index(session: Session, audit: Audited) -> bool:
        seen.append(session)
        return session is audit

    with TestClient(app) as client:
        assert client.get("/").json() is True
        assert client.get("/").json() is True
    assert seen[0] is not seen[1]


def test_overriding_the_session_dependency(tmp_path: Path) -> None:
    app = App()
    db = Database(app, f"sqlite:///{tmp_path}/o.db")
    calls: list[str] = []

    async def other_session() -> AsyncIterator[AsyncSession]:
        calls.append("override")
        async with db.session() as session:
            yield session

    @app.get("/")
    async def index(session: Session) -> int:
        return int(await session.scalar(select(sa.literal(1))) or 0)

    app.dependency_overrides[get_session] = other_session
    with TestClient(app) as client:
        assert client.get("/").json() == 1
    assert calls == ["override"]


def test_transactions_and_savepoints(db_url: str) -> None:
    db = Database(url=db_url)

    async def failing() -> None:
        async with db.transaction() as session:
            session.add(Author(name="rolled back", password="x"))
            await session.flush()
            raise RuntimeError("undo")

    async def main() -> list[str]:
        await db.create_all()
        async with db.transaction() as session:
            session.add(Author(name="kept", password="x"))
            try:
                async with session.begin_nested():
                    session.add(Author(name="undone", password="x"))
                    await session.flush()
                    raise RuntimeError("roll back the savepoint only")
            except RuntimeError:
                pass
        with pytest.raises(RuntimeError, match="undo"):
            await failing()
        async with db.session() as session:
            names = (await session.scalars(select(Author.name))).all()
        await db.disconnect()
        return list(names)

    assert asyncio.run(main()) == ["kept"]


def test_run_from_synchronous_code(db_url: str) -> None:
    db = Database(url=db_url)

    async def setup(session: AsyncSession) -> None:
        await (await session.connection()).run_sync(Model.metadata.create_all)
        session.add(Author(name="script", password="x"))

    db.run(setup)
    assert db.run(lambda session: session.scalar(select(sa.func.count(Author.id)))) == 1
    assert db._engines == {}  # run() disposes what it opened


def test_sync_engine_for_scripts(tmp_path: Path) -> None:
    db = Database(url=f"sqlite:///{tmp_path}/sync.db")
    engine = db.sync_engine()
    assert engine.url.drivername == "sqlite+pysqlite"
    Model.metadata.create_all(engine)
    with db.sync_session() as session:
        session.add(Author(name="sync", password="x"))
        session.commit()
        assert session.scalar(select(Author.name)) == "sync"
        # Foreign keys are enforced here too.
        session.add(Deferred(author_id=999))
        with pytest.raises(sa.exc.IntegrityError):
            session.commit()
    asyncio.run(db.disconnect())
    assert db._sync_engine is None


def test_sync_engine_for_postgres_needs_a_sync_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "psycopg", None)
    monkeypatch.setitem(sys.modules, "psycopg2", None)
    db = Database(url="postgresql://u@h/db")
    with pytest.raises(MissingDependencyError, match="pip install 'psycopg'"):
        db.sync_engine()


def test_sqlite_enforces_foreign_keys(tmp_path: Path) -> None:
    db = Database(url=f"sqlite:///{tmp_path}/fk.db")

    async def main() -> None:
        await db.create_all()
        try:
            with pytest.raises(sa.exc.IntegrityError, match="FOREIGN KEY"):
                async with db.transaction() as session:
                    session.add(Article(title="t", body="b", author_id=999))
        finally:
            await db.disconnect()

    asyncio.run(main())
