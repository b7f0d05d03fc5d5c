"""Integers past what the database can hold are a 422 naming the parameter, never a 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

from plait import App
from plait.db import Database, Model, Offset, OffsetPage, Session, get_or_404, paginate
from plait.db.testing import rolled_back
from plait.testing import TestClient


class Ranged(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20))


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    app = App()
    db = Database(app, db_url)

    # Written as the docs teach, with plain ``int`` parameters.
    @app.get("/items/{item_id}")
    async def get_item(item_id: int, session: Session) -> Ranged.Read:
        return await get_or_404(session, Ranged, item_id)

    @app.get("/items")
    async def list_items(session: Session, min_id: int = 0, skip: int = 0) -> list[Ranged.Read]:
        query = select(Ranged).where(Ranged.id >= min_id).order_by(Ranged.id).offset(skip)
        return list(await session.scalars(query))

    @app.get("/paged")
    async def paged(session: Session, offset: int = 0) -> OffsetPage[Ranged.Read]:
        return await paginate(session, select(Ranged).order_by(Ranged.id), limit=5, offset=offset)

    @app.get("/typed")
    async def typed(session: Session, offset: Offset = 0) -> OffsetPage[Ranged.Read]:
        return await paginate(session, select(Ranged).order_by(Ranged.id), limit=5, offset=offset)

    with rolled_back(db, create_all=True), TestClient(app) as test_client:
        yield test_client


HUGE = "9" * 30


@pytest.mark.parametrize(
    ("url", "loc"),
    [
        (f"/items/{HUGE}", ["path", "item_id"]),
        (f"/items/-{HUGE}", ["path", "item_id"]),
        (f"/items?min_id={HUGE}", ["query", "min_id"]),
        (f"/items?skip={2**63}", ["query", "skip"]),
        (f"/paged?offset={HUGE}", ["query", "offset"]),
        (f"/paged?offset={2**31}", ["query", "offset"]),
        (f"/typed?offset={2**31}", ["query", "offset"]),
    ],
)
def test_huge_integers_are_422(client: TestClient, url: str, loc: list[str]) -> None:
    response = client.get(url)
    assert response.status_code == 422, response.text
    assert loc in [error["loc"] for error in response.json()["errors"]]


def test_integers_in_range_still_work(client: TestClient) -> None:
    assert client.get("/items/5").status_code == 404
    assert client.get("/items", params={"skip": 3}).json() == []
    assert client.get("/paged", params={"offset": 2**31 - 1}).json()["items"] == []
