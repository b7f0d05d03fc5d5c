"""crud_router's reads of flat schemas answer rows: the same JSON as the ORM objects give.

Each app has crud_router's endpoints and hand-written ones that load ORM objects (the path
crud_router took before, and still takes for schemas with relationships); both must agree,
field for field, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from db_harness import Article, Status
from sqlalchemy import select
from sqlalchemy.orm import Mapped, mapped_column

from plait import App
from plait.db import Database, Model, SchemaOptions, Session, crud_router, get_or_404
from plait.db.testing import rolled_back
from plait.testing import TestClient


class RowReadGauge(Model):
    __tablename__ = "rowread_gauge"
    __schema_options__ = SchemaOptions(rename="camel", write_only=("secret_code",))
    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(sa.String(50))
    last_reading: Mapped[decimal.Decimal | None] = mapped_column(sa.Numeric(8, 3))
    measured_at: Mapped[datetime.datetime | None]
    secret_code: Mapped[str | None]


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    app = App()
    db = Database(app, db_url)
    app.include_router(crud_router(Article, prefix="/articles"))
    app.include_router(crud_router(RowReadGauge, prefix="/gauges", sort_by=["display_name"]))

    @app.get("/orm/articles/{id}")
    async def orm_article(id: int, session: Session) -> Article.Read:
        return await get_or_404(session, Article, id)

    @app.get("/orm/articles")
    async def orm_articles(session: Session) -> list[Article.Read]:
        return list(await session.scalars(select(Article).order_by(Article.title.desc())))

    @app.get("/orm/gauges/{id}")
    async def orm_gauge(id: int, session: Session) -> RowReadGauge.Read:
        return await get_or_404(session, RowReadGauge, id)

    with rolled_back(db, create_all=True), TestClient(app) as test_client:
        yield test_client


def created(client: TestClient, path: str, body: dict[str, Any]) -> int:
    response = client.post(path, json=body)
    assert response.status_code == 201, response.text
    key: int = response.json()["id"]
    return key


def test_a_row_answers_as_the_orm_object_does(client: TestClient) -> None:
    ids = [
        created(client, "/articles", {"title": "plain", "body": "b"}),
        created(
            client,
            "/articles",
            {
                "title": "full",
                "body": "é\u2603",
                "views": 7,
                "rating": -3,
                "published": True,
                "status": Status.LIVE.value,
                "tags": ["a", "b"],
            },
        ),
    ]
    for key in ids:
        fast = client.get(f"/articles/{key}")
        assert fast.status_code == 200
        assert fast.json() == client.get(f"/orm/articles/{key}").json()
        assert fast.json()["created_at"].endswith("Z")  # marked UTC, like the ORM's

    moment = "2026-01-02T03:04:05.678000Z"
    body = {"displayName": "g", "lastReading": "12.345", "measuredAt": moment, "secretCode": "x"}
    key = created(client, "/gauges", body)
    fast = client.get(f"/gauges/{key}")
    assert fast.json() == client.get(f"/orm/gauges/{key}").json()
    assert fast.json() == {
        "id": key,
        "displayName": "g",
        "lastReading": "12.345",
        "measuredAt": moment,
    }


def test_a_page_of_rows_answers_as_the_orm_objects_do(client: TestClient) -> None:
    for views, title in enumerate(["c", "a", "b"]):
        created(client, "/articles", {"title": title, "body": "b", "views": views})
    page = client.get("/articles", params={"sort": "-title"}).json()
    assert page["total"] == 3
    assert page["items"] == client.get("/orm/articles").json()
    filtered = client.get("/articles", params={"title": "a"}).json()
    assert [item["title"] for item in filtered["items"]] == ["a"]

    for name in ["y", "x", "z"]:
        created(client, "/gauges", {"displayName": name})
    names = [g["displayName"] for g in client.get("/gauges?sort=-display_name").json()["items"]]
    assert names == ["z", "y", "x"]


def test_a_missing_row_is_a_404_naming_it(client: TestClient) -> None:
    response = client.get("/articles/41")
    assert response.status_code == 404
    assert response.json()["detail"] == "Article 41 not found"


def test_flat_reads_load_no_orm_objects(client: TestClient) -> None:
    key = created(client, "/articles", {"title": "t", "body": "b"})
    loaded: list[Any] = []

    def load(target: Any, context: Any) -> None:
        loaded.append(target)

    sa.event.listen(Article, "load", load)
    try:
        assert client.get(f"/articles/{key}").status_code == 200
        assert client.get("/articles").json()["total"] == 1
        assert loaded == []
        assert client.get(f"/orm/articles/{key}").status_code == 200  # the listener sees it
        assert len(loaded) == 1
    finally:
        sa.event.remove(Article, "load", load)
