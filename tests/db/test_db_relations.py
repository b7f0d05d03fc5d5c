"""Relationships in the schemas: nested or keys on read, keys on write, loaded without N+1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from sqlalchemy import Column, ForeignKey, String, Table, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from plait import App, HTMLResponse, forms
from plait.db import (
    Database,
    Model,
    Relation,
    SchemaOptions,
    Session,
    apply,
    crud_router,
    get_or_404,
    load_options,
    model_schema,
)
from plait.db.testing import rolled_back
from plait.testing import TestClient

link_tag = Table(
    "link_tag",
    Model.metadata,
    Column("link_id", ForeignKey("link.id", ondelete="CASCADE"), primary_key=True),
    Column("label_id", ForeignKey("label.id", ondelete="CASCADE"), primary_key=True),
)


class Label(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(30), unique=True)


class Shelf(Model):
    __schema_options__ = SchemaOptions(relations={"links": Relation()})
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(30))
    links: Mapped[list[Link]] = relationship(back_populates="shelf")


class Link(Model):
    __schema_options__ = SchemaOptions(
        relations={
            "labels": Relation(read="nested", key="name", create_missing=True),
            "shelf": Relation(read="keys"),
        }
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(200))
    shelf_id: Mapped[int | None] = mapped_column(ForeignKey("shelf.id", ondelete="SET NULL"))
    shelf: Mapped[Shelf | None] = relationship(back_populates="links")
    labels: Mapped[list[Label]] = relationship(secondary=link_tag)


def schema_of(struct: Any) -> dict[str, Any]:
    result: dict[str, Any] = msgspec.json.schema(struct)["$defs"][struct.__name__]
    return result


def test_relations_appear_only_on_request() -> None:
    read = schema_of(model_schema(Link, "read"))["properties"]
    assert read["labels"] == {"type": "array", "items": {"$ref": "#/$defs/LabelRead"}}
    assert read["shelf"]["anyOf"][0]["type"] == "integer"  # the shelf's id, or null
    create = schema_of(model_schema(Link, "create"))
    assert create["properties"]["labels"]["items"]["maxLength"] == 30  # names, as Label.name
    assert create["properties"]["labels"]["default"] == []
    assert "labels" not in create["required"]
    update = schema_of(model_schema(Link, "update"))["properties"]
    assert "labels" in update
    assert "default" not in update["labels"]
    # a one-to-many (Shelf.links) as a list of ids
    assert schema_of(model_schema(Shelf, "read"))["properties"]["links"]["items"]["type"] == (
        "integer"
    )
    # Label declares no relations: none appear
    assert set(model_schema(Label, "read").__struct_fields__) == {"id", "name"}


def test_unknown_relation_names_are_refused() -> None:
    class Orphan(Model):
        __schema_options__ = SchemaOptions(relations={"nope": Relation()})
        id: Mapped[int] = mapped_column(primary_key=True)

    with pytest.raises(TypeError, match="nope"):
        model_schema(Orphan, "read")

    class ById(Model):
        __schema_options__ = SchemaOptions(relations={"children": Relation(create_missing=True)})
        id: Mapped[int] = mapped_column(primary_key=True)
        children: Mapped[list[ByIdChild]] = relationship()

    class ByIdChild(Model):
        id: Mapped[int] = mapped_column(primary_key=True)
        parent_id: Mapped[int] = mapped_column(ForeignKey(ById.id))

    with pytest.raises(TypeError, match="create_missing needs a natural key"):
        model_schema(ById, "create")


@pytest.fixture
def client(db_url: str) -> Iterator[tuple[TestClient, Database]]:
    app = App()
    db = Database(app, db_url)
    app.include_router(crud_router(Link))
    app.include_router(crud_router(Shelf))

    @app.post("/hand/links", status_code=201)
    async def create(data: Link.Create, session: Session) -> Link.Read:
        link = Link(data)
        session.add(link)
        return link

    @app.patch("/hand/links/{link_id}")
    async def edit(link_id: int, data: Link.Update, session: Session) -> Link.Read:
        link = await get_or_404(session, Link, link_id, options=load_options(Link))
        apply(link, data)
        return link

    @app.get("/hand/links")
    async def listing(session: Session) -> list[Link.Read]:
        query = select(Link).options(*load_options(Link)).order_by(Link.id)
        return list((await session.scalars(query)).all())

    with rolled_back(db, create_all=True), TestClient(app) as test_client:
        yield test_client, db


def test_keys_are_written_and_read_back(client: tuple[TestClient, Database]) -> None:
    c, _ = client
    shelf = c.post("/shelfs", json={"title": "reading"}).json()
    created = c.post("/links", json={"url": "u", "labels": ["web", "py"], "shelf": shelf["id"]})
    assert created.status_code == 201, created.text
    body = created.json()
    assert [t["name"] for t in body["labels"]] == ["web", "py"]  # in the order given
    assert body["shelf"] == shelf["id"]
    # get-or-create: "py" is reused, "db" created; the same name twice counts once
    again = c.post("/links", json={"url": "v", "labels": ["py", "db", "py"]}).json()
    assert [t["name"] for t in again["labels"]] == ["py", "db"]
    assert again["labels"][0]["id"] == body["labels"][1]["id"]
    assert again["shelf"] is None
    assert c.get("/shelfs/1").json()["links"] == [body["id"]]
    # PATCH replaces the set; absent relations stay as they were
    patched = c.patch(f"/links/{body['id']}", json={"labels": ["db"]}).json()
    assert [t["name"] for t in patched["labels"]] == ["db"]
    assert patched["shelf"] == shelf["id"]
    kept = c.patch(f"/links/{body['id']}", json={"url": "w"}).json()
    assert [t["name"] for t in kept["labels"]] == ["db"]
    cleared = c.patch(f"/links/{body['id']}", json={"labels": [], "shelf": None}).json()
    assert (cleared["labels"], cleared["shelf"]) == ([], None)


def test_hand_written_handlers_work_the_same(client: tuple[TestClient, Database]) -> None:
    c, _ = client
    made = c.post("/hand/links", json={"url": "u", "labels": ["a", "b"]})
    assert made.status_code == 201, made.text
    assert [t["name"] for t in made.json()["labels"]] == ["a", "b"]
    edited = c.patch("/hand/links/1", json={"labels": ["b", "c"]})
    assert [t["name"] for t in edited.json()["labels"]] == ["b", "c"]
    assert [t["name"] for t in c.get("/hand/links").json()[0]["labels"]] == ["b", "c"]


def test_unknown_keys_are_a_422_naming_the_item(client: tuple[TestClient, Database]) -> None:
    c, _ = client
    response = c.post("/links", json={"url": "u", "shelf": 42})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"loc": ["body", "shelf", 0], "msg": "No Shelf with this id", "type": "not_found"}
    ]
    response = c.post("/shelfs", json={"title": "t", "links": [7]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "links", 0]
    assert c.post("/links", json={"url": "u", "labels": ["x" * 31]}).status_code == 422
    assert c.get("/links").json()["total"] == 0


def test_a_page_loads_relations_in_a_constant_number_of_queries(
    client: tuple[TestClient, Database],
) -> None:
    c, db = client
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    def page_queries(n_links: int) -> int:
        for i in range(n_links):
            c.post("/links", json={"url": f"u{i}", "labels": [f"t{i}", "common"], "shelf": 1})
        statements.clear()
        sa.event.listen(db.engine.sync_engine, "before_cursor_execute", count)
        try:
            page = c.get("/links", params={"size": 50}).json()
            shelf = c.get("/shelfs/1").json()
        finally:
            sa.event.remove(db.engine.sync_engine, "before_cursor_execute", count)
        assert all(len(item["labels"]) == 2 for item in page["items"])
        assert len(shelf["links"]) == page["total"]
        return len(statements)

    c.post("/shelfs", json={"title": "s"})
    few = page_queries(2)
    many = page_queries(20)
    # The list: count, the page joined to each link's shelf (a many-to-one), the labels;
    # then the shelf and its links.
    assert few == many <= 5, (few, many)


class LinkForm(forms.Form, schema=Link.Create, exclude=("shelf_id",)):
    pass


class ShelfForm(forms.Form, schema=Shelf.Create, widgets={"links": "checkboxes"}):
    pass


def test_forms_draw_relations_as_a_multi_select_or_checkboxes(db_url: str) -> None:
    app = App()
    db = Database(app, db_url)

    @app.get("/shelf-form")
    async def shelf_form(session: Session) -> HTMLResponse:
        form = await ShelfForm(initial={"links": [await session.get(Link, 2)]}).load_choices(
            session
        )
        return HTMLResponse(str(form))

    @app.post("/shelf-form")
    async def post_shelf(session: Session, form: ShelfForm) -> Any:
        await form.load_choices(session)
        if not form.is_valid():
            return HTMLResponse(str(form), status_code=422)
        shelf = Shelf(form.cleaned_data)
        session.add(shelf)
        await session.flush()
        return {"links": [link.id for link in shelf.links]}

    @app.get("/link-form")
    async def link_form(session: Session) -> HTMLResponse:
        return HTMLResponse(str(await LinkForm().load_choices(session)))

    with rolled_back(db, create_all=True) as tx, TestClient(app) as c:

        async def seed(session: Any) -> None:
            session.add_all([Link(url="a.example", labels=["web"]), Link(url="b.example")])
            session.add(Label(name="db"))
            await session.flush()

        tx.run(seed)
        html = c.get("/shelf-form").text
        assert '<div id="id_links" class="choices">' in html
        assert '<input type="checkbox" name="links" value="1"> a.example</label>' in html
        assert '<input type="checkbox" name="links" value="2" checked> b.example</label>' in html
        html = c.get("/link-form").text
        assert '<select name="labels" id="id_labels" multiple>' in html
        assert '<option value="db">db</option><option value="web">web</option>' in html
        assert c.post("/shelf-form", data={"title": "s", "links": ["1", "2"]}).json() == {
            "links": [1, 2]
        }
        refused = c.post("/shelf-form", data={"title": "s", "links": ["1", "9"]})
        assert refused.status_code == 422
        assert "Select a valid choice. 9 is not one of the available choices." in refused.text
