"""Helpers over select(): get_or_404, count, exists, bulk_create, page and keyset pagination."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec
import pytest
from db_harness import Article, Author
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from plait import App, HTTPException
from plait.db import (
    Database,
    KeysetPage,
    Page,
    Session,
    bulk_create,
    count,
    exists,
    get_or_404,
    paginate,
    paginate_keyset,
)
from plait.db.testing import rolled_back
from plait.testing import TestClient

T = TypeVar("T")


def in_session(url: str, func: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``func`` in a rolled-back transaction with the tables created."""
    db = Database(url=url)

    async def main() -> T:
        try:
            async with rolled_back(db, create_all=True), db.transaction() as session:
                return await func(session)
        finally:
            await db.disconnect()

    return asyncio.run(main())


async def seed(session: AsyncSession, n: int = 25) -> list[Article]:
    return await bulk_create(
        session,
        Article,
        [Article.Create(title=f"t{i:02}", body="b", views=i % 5) for i in range(n)],
    )


def test_bulk_create_returns_rows_with_keys(db_url: str) -> None:
    async def check(session: AsyncSession) -> None:
        articles = await seed(session, 3)
        assert [a.id for a in articles] == [1, 2, 3]
        rows: list[Any] = [{"name": "a", "password": "x"}, Author(name="b", password="y")]
        mixed = await bulk_create(session, Author, rows)
        assert all(author.id for author in mixed)

    in_session(db_url, check)


def test_count_and_exists(db_url: str) -> None:
    async def check(session: AsyncSession) -> None:
        assert await count(session, Article) == 0
        assert not await exists(session, Article)
        await seed(session, 10)
        assert await count(session, Article) == 10
        assert await count(session, Article, Article.views == 0) == 2
        assert (
            await count(session, select(Article).where(Article.views > 2).order_by(Article.id)) == 4
        )
        assert await exists(session, Article, Article.title == "t03")
        assert not await exists(session, Article, Article.title == "nope")
        assert await exists(session, select(Article.id).where(Article.views == 4))

    in_session(db_url, check)


def test_get_or_404(db_url: str) -> None:
    async def check(session: AsyncSession) -> None:
        await seed(session, 3)
        assert (await get_or_404(session, Article, 2)).title == "t01"
        with pytest.raises(HTTPException) as info:
            await get_or_404(session, Article, 99)
        assert (info.value.status_code, info.value.detail) == (404, "Article 99 not found")
        found = await get_or_404(session, select(Article).where(Article.title == "t02"))
        assert found.id == 3
        with pytest.raises(HTTPException, match="No such thing"):
            await get_or_404(
                session, select(Article).where(Article.id > 50), detail="No such thing"
            )
        with pytest.raises(LookupError, match="at most one row"):
            await get_or_404(session, select(Article))

    in_session(db_url, check)


def test_paginate(db_url: str) -> None:
    async def check(session: AsyncSession) -> None:
        await seed(session)
        query = select(Article).order_by(Article.id)
        page = await paginate(session, query, page=2, size=10)
        assert (page.total, page.page, page.size, page.pages) == (25, 2, 10, 3)
        assert [a.title for a in page.items] == [f"t{i:02}" for i in range(10, 20)]
        last = await paginate(session, query, page=3, size=10)
        assert len(last.items) == 5
        beyond = await paginate(session, query, page=99, size=10)
        assert (beyond.items, beyond.total) == ([], 25)
        capped = await paginate(session, query, page=0, size=10_000)
        assert (capped.page, capped.size, len(capped.items)) == (1, 100, 25)
        huge = await paginate(session, query, page=2**62, size=100)  # no OFFSET overflow
        assert huge.items == []
        rows = await paginate(session, select(Article.id, Article.title).order_by(Article.id))
        assert tuple(rows.items[0]) == (1, "t00")

    in_session(db_url, check)


def test_paginate_keyset(db_url: str) -> None:
    async def check(session: AsyncSession) -> None:
        await seed(session)
        query = select(Article)
        seen: list[str] = []
        cursor = None
        while True:
            page = await paginate_keyset(
                session, query, order_by=[Article.views, Article.id], cursor=cursor, size=7
            )
            seen.extend(a.title for a in page.items)
            cursor = page.next
            if cursor is None:
                break
        expected = sorted((i % 5, i) for i in range(25))
        assert seen == [f"t{i:02}" for _, i in expected]
        down = await paginate_keyset(
            session, query, order_by=[Article.id], size=3, descending=True, with_total=True
        )
        assert [a.id for a in down.items] == [25, 24, 23]
        assert down.total == 25
        after = await paginate_keyset(
            session, query, order_by=[Article.id], cursor=down.next, size=3, descending=True
        )
        assert [a.id for a in after.items] == [22, 21, 20]
        with pytest.raises(HTTPException) as info:
            await paginate_keyset(session, query, order_by=[Article.id], cursor="garbage!")
        assert info.value.status_code == 422
        assert info.value.extra == {
            "errors": [{"loc": ["query", "cursor"], "msg": "Invalid cursor", "type": "invalid"}]
        }
        with pytest.raises(ValueError, match="key columns"):
            await paginate_keyset(session, query, order_by=[])

    in_session(db_url, check)


def test_pages_convert_to_the_declared_item_type(db_url: str) -> None:
    app = App()
    db = Database(app, db_url)

    @app.get("/page")
    async def page(session: Session) -> Page[Article.Read]:
        await seed(session, 3)
        return await paginate(session, select(Article).order_by(Article.id), size=2)

    @app.get("/keyset")
    async def keyset(session: Session, cursor: str | None = None) -> KeysetPage[Article.Read]:
        return await paginate_keyset(
            session, select(Article), order_by=[Article.id], cursor=cursor, size=2
        )

    with rolled_back(db, create_all=True), TestClient(app) as client:
        body = client.get("/page").json()
        assert body["total"] == 3
        assert body["items"][0]["title"] == "t00"
        assert set(body["items"][0]) == set(Article.Read.__struct_fields__)
        first = client.get("/keyset").json()
        assert [a["id"] for a in first["items"]] == [1, 2]
        second = client.get("/keyset", params={"cursor": first["next"]}).json()
        assert [a["id"] for a in second["items"]] == [3]
        assert second["next"] is None
        bad = client.get("/keyset", params={"cursor": "%%%"})
        assert bad.status_code == 422


def test_page_schema() -> None:
    schema: dict[str, Any] = msgspec.json.schema(Page[Article.Read])
    page = next(v for k, v in schema["$defs"].items() if k.startswith("Page"))
    assert page["required"] == ["items", "total", "page", "size", "pages"]
