"""plait.db.testing: each test in a transaction that is rolled back, on both databases."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from db_harness import Article, Author, build_app
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from plait.db.testing import rolled_back
from plait.testing import AsyncTestClient, TestClient


def test_writes_vanish_with_the_transaction(db_url: str) -> None:
    app, db = build_app(db_url)
    for _ in range(2):
        with rolled_back(db, create_all=True) as tx, TestClient(app) as client:
            assert client.post("/articles", json={"title": "t", "body": "b"}).status_code == 201
            # Committed as far as the app can tell: later requests see it.
            assert client.get("/articles").json()["total"] == 1
            assert tx.run(lambda s: s.scalar(select(sa.func.count(Article.id)))) == 1
    # Not even the tables are left.
    assert asyncio.run(_tables(db_url)) == []


async def _tables(url: str) -> list[str]:
    from plait.db import Database

    db = Database(url=url)
    try:
        async with db.engine.connect() as connection:
            return await connection.run_sync(lambda c: sa.inspect(c).get_table_names())
    finally:
        await db.disconnect()


def test_errors_inside_a_test_roll_back_only_their_savepoint(db_url: str) -> None:
    app, db = build_app(db_url)
    with rolled_back(db, create_all=True), TestClient(app) as client:
        assert client.post("/articles", json={"title": "t", "body": "b"}).status_code == 201
        assert client.post("/articles", json={"title": "t", "body": "b"}).status_code == 409
        assert client.post("/articles", json={"title": "u", "body": "b"}).status_code == 201
        assert client.get("/articles").json()["total"] == 2


def test_seeding_rows_before_requests(db_url: str) -> None:
    app, db = build_app(db_url)
    with rolled_back(db, create_all=True) as tx, TestClient(app) as client:

        async def seed(session: AsyncSession) -> int:
            author = Author(name="seeded", password="x")
            session.add(author)
            await session.flush()
            return author.id

        author_id = tx.run(seed)
        assert client.get(f"/authors/{author_id}").json()["name"] == "seeded"


def test_rolled_back_around_an_already_running_app(db_url: str) -> None:
    app, db = build_app(db_url, auto_migrate=True, migrations="/nonexistent")
    with TestClient(app) as client:
        with rolled_back(db):
            assert client.post("/authors", json={"name": "a", "password": "x"}).status_code == 201
            assert client.get("/authors").json()["total"] == 1
        assert client.get("/authors").json()["total"] == 0
        with rolled_back(db):
            assert client.get("/authors").json()["total"] == 0


def test_run_needs_the_app(db_url: str) -> None:
    _, db = build_app(db_url)
    with rolled_back(db) as tx, pytest.raises(RuntimeError, match="needs the app running"):
        tx.run(lambda s: s.scalar(select(1)))


def test_async_tests(db_url: str) -> None:
    app, db = build_app(db_url)

    async def main() -> None:
        async with rolled_back(db, create_all=True), AsyncTestClient(app) as client:
            response = await client.post("/articles", json={"title": "t", "body": "b"})
            assert response.status_code == 201
            async with db.transaction() as session:
                assert await session.scalar(select(sa.func.count(Article.id))) == 1
        async with AsyncTestClient(app) as client, rolled_back(db, create_all=True):
            assert (await client.get("/articles")).json()["total"] == 0

    asyncio.run(main())
