"""Deleting a row others refer to follows the foreign key's ON DELETE, like Django's on_delete.

No ``ondelete``: the database refuses, and the API answers 409 (as crud_router's OpenAPI
says). ``ondelete="CASCADE"`` / ``"SET NULL"``: the database does it. SQLAlchemy never nulls
the children's keys behind the model's back (which gave a 422, or silently orphaned rows).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from plait import App
from plait.db import Database, Model, Session, crud_router, get_or_404
from plait.db.testing import RolledBack, rolled_back
from plait.testing import TestClient


class Shop(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    required_items: Mapped[list[RequiredItem]] = relationship(back_populates="shop")
    optional_items: Mapped[list[OptionalItem]] = relationship(back_populates="shop")
    cascaded_items: Mapped[list[CascadedItem]] = relationship(back_populates="shop")
    nulled_items: Mapped[list[NulledItem]] = relationship(back_populates="shop")


class RequiredItem(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"))
    shop: Mapped[Shop] = relationship(back_populates="required_items")


class OptionalItem(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shop.id"))
    shop: Mapped[Shop | None] = relationship(back_populates="optional_items")


class CascadedItem(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id", ondelete="CASCADE"))
    shop: Mapped[Shop] = relationship(back_populates="cascaded_items")


class NulledItem(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shop.id", ondelete="SET NULL"))
    shop: Mapped[Shop | None] = relationship(back_populates="nulled_items")


@pytest.fixture
def served(db_url: str) -> Iterator[tuple[TestClient, RolledBack]]:
    app = App()
    db = Database(app, db_url)
    app.include_router(crud_router(Shop))

    @app.delete("/by-hand/shops/{shop_id}", status_code=204)
    async def delete_shop(shop_id: int, session: Session) -> None:
        shop = await get_or_404(session, Shop, shop_id)
        await session.delete(shop)

    with rolled_back(db, create_all=True) as tx, TestClient(app) as client:
        yield client, tx


def add(tx: RolledBack, item: type[Any]) -> None:
    async def seed(session: Any) -> None:
        shop = Shop(name="s")
        session.add(shop)
        await session.flush()
        session.add(item(shop_id=shop.id))

    tx.run(seed)


def shop_ids(tx: RolledBack, item: type[Any]) -> list[Any]:
    async def read(session: Any) -> list[Any]:
        return list(await session.scalars(sa.select(item.shop_id)))

    return tx.run(read)


@pytest.mark.parametrize("item", [RequiredItem, OptionalItem], ids=["not-null", "nullable"])
@pytest.mark.parametrize("path", ["/shops/1", "/by-hand/shops/1"])
def test_a_referenced_row_is_not_deleted_without_on_delete(
    served: tuple[TestClient, RolledBack], item: type[Any], path: str
) -> None:
    client, tx = served
    add(tx, item)
    response = client.delete(path)
    assert response.status_code == 409, response.text
    assert response.json()["detail"].startswith("This row is still referenced by other rows")
    assert client.get("/shops/1").status_code == 200
    assert shop_ids(tx, item) == [1]  # not orphaned


def test_on_delete_cascade_deletes_the_children(served: tuple[TestClient, RolledBack]) -> None:
    client, tx = served
    add(tx, CascadedItem)
    assert client.delete("/shops/1").status_code == 204
    assert shop_ids(tx, CascadedItem) == []


def test_on_delete_set_null_keeps_the_children(served: tuple[TestClient, RolledBack]) -> None:
    client, tx = served
    add(tx, NulledItem)
    assert client.delete("/by-hand/shops/1").status_code == 204
    assert shop_ids(tx, NulledItem) == [None]
    assert client.get("/shops/1").status_code == 404


def test_an_unreferenced_row_is_deleted(served: tuple[TestClient, RolledBack]) -> None:
    client, _ = served
    assert client.post("/shops", json={"name": "s"}).status_code == 201
    assert client.delete("/shops/1").status_code == 204
