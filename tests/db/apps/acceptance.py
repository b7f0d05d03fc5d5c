"""A CRUD API written to a common spec, as the docs teach, and crud_router beside it.

Items are hand-written handlers over ``Item.Read/Create/Update`` with ``paginate`` by
limit/offset and a name of at least one character; things come from ``crud_router`` with PUT
and limit/offset pages. tests/db/test_db_acceptance.py serves it and runs schemathesis on it.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, String, select
from sqlalchemy.orm import Mapped, mapped_column

from plait import App
from plait.db import (
    Database,
    Limit,
    Model,
    Offset,
    OffsetPage,
    Session,
    apply,
    crud_router,
    get_or_404,
    paginate,
)


class AcceptedItem(Model):
    __table_args__ = (CheckConstraint("length(name) >= 1", name="name_not_empty"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    price: Mapped[int] = mapped_column(default=0)
    note: Mapped[str | None] = mapped_column(String(500))


class AcceptedThing(Model):
    __table_args__ = (CheckConstraint("length(title) >= 1", name="title_not_empty"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(50), unique=True)
    done: Mapped[bool] = mapped_column(default=False)


app = App(title="Acceptance")
db = Database(app, auto_migrate=True, migrations="no-migrations")  # PLAIT_DATABASE_URL
NOT_FOUND = {404: "No item with this id"}


@app.get("/items")
async def list_items(
    session: Session, limit: Limit = 20, offset: Offset = 0
) -> OffsetPage[AcceptedItem.Read]:
    query = select(AcceptedItem).order_by(AcceptedItem.id)
    return await paginate(session, query, limit=limit, offset=offset)


@app.post("/items", status_code=201)
async def create_item(data: AcceptedItem.Create, session: Session) -> AcceptedItem.Read:
    item = AcceptedItem(data)
    session.add(item)
    await session.flush()
    return item


@app.get("/items/{item_id}", responses=NOT_FOUND)
async def get_item(item_id: AcceptedItem.Key, session: Session) -> AcceptedItem.Read:
    return await get_or_404(session, AcceptedItem, item_id)


@app.put("/items/{item_id}", responses=NOT_FOUND)
async def replace_item(
    item_id: AcceptedItem.Key, data: AcceptedItem.Create, session: Session
) -> AcceptedItem.Read:
    item = await get_or_404(session, AcceptedItem, item_id)
    apply(item, data)
    return item


@app.patch("/items/{item_id}", responses=NOT_FOUND)
async def update_item(
    item_id: AcceptedItem.Key, data: AcceptedItem.Update, session: Session
) -> AcceptedItem.Read:
    item = await get_or_404(session, AcceptedItem, item_id)
    apply(item, data)
    return item


@app.delete("/items/{item_id}", status_code=204, responses=NOT_FOUND)
async def delete_item(item_id: AcceptedItem.Key, session: Session) -> None:
    await session.delete(await get_or_404(session, AcceptedItem, item_id))


app.include_router(crud_router(AcceptedThing, prefix="/things", pagination="offset"))
