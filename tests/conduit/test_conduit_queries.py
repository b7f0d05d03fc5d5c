"""No N+1: a list endpoint runs the same number of SQL statements whatever its page size,
counted at the database driver, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from _conduit_support import Conduit

SIZE = 20


@contextmanager
def counting(api: Conduit) -> Iterator[list[str]]:
    """The SELECTs sent to the database while the block runs."""
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    engine = api.db.engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def selects(api: Conduit, path: str, user: str | None = None) -> int:
    headers = api.auth(user) if user else {}
    with counting(api) as statements:
        response = api.client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return len(statements)


def test_list_endpoints_run_a_constant_number_of_queries(api: Conduit) -> None:
    client, ada, bob = api.client, api.auth("ada"), api.auth("bob")
    client.post("/api/profiles/bob/follow", headers=ada)
    slugs = []
    for n in range(SIZE + 1):
        article = {"title": f"Article {n}", "description": "d", "body": "b"}
        article["tagList"] = [f"tag{n}", "common"]  # type: ignore[assignment]
        made = client.post(
            "/api/articles", json={"article": article}, headers=bob if n % 2 else ada
        )
        slugs.append(made.json()["article"]["slug"])
    models = api.models

    async def favourites_and_comments(session: Any) -> None:
        ada_id = await session.scalar(sa.select(models.Profile.user_id).order_by("user_id"))
        for article in await session.scalars(sa.select(models.Article)):
            session.add(models.Favorite(user_id=ada_id, article_id=article.id))
            many = article.slug == slugs[0]  # the first article has many comments
            for _ in range(SIZE if many else 1):
                session.add(models.Comment(body="c", article_id=article.id, author_id=ada_id))

    assert api.tx is not None
    api.tx.run(favourites_and_comments)

    page = client.get(f"/api/articles?limit={SIZE}", headers=ada).json()
    assert len(page["articles"]) == SIZE
    assert all(len(a["tagList"]) == 2 and a["favorited"] for a in page["articles"])
    assert {a["author"]["following"] for a in page["articles"]} == {True, False}

    for user in (None, "ada"):
        one = selects(api, "/api/articles?limit=1", user)
        full = selects(api, f"/api/articles?limit={SIZE}", user)
        assert one == full, (user, one, full)
        assert full <= 4, full  # [the user], the count, the page, its tags
        tagged = selects(api, f"/api/articles?tag=common&limit={SIZE}", user)
        assert tagged == full
    assert selects(api, "/api/articles/feed?limit=1", "ada") == selects(
        api, f"/api/articles/feed?limit={SIZE}", "ada"
    )
    few = selects(api, f"/api/articles/{slugs[1]}/comments", "ada")
    many = selects(api, f"/api/articles/{slugs[0]}/comments", "ada")
    assert len(client.get(f"/api/articles/{slugs[0]}/comments").json()["comments"]) == SIZE
    assert few == many <= 3, (few, many)  # [the user], the article, its comments
