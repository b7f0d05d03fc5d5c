"""Constraints reach the schemas: CHECKs and column bounds, kept when a schema is refined."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import msgspec
import pytest
from msgspec import Meta
from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from plait import App
from plait.db import Database, Model, Session, get_or_404, model_schema
from plait.db.testing import rolled_back
from plait.testing import TestClient


class Gizmo(Model):
    __table_args__ = (
        CheckConstraint("length(name) >= 1", name="name_not_empty"),
        CheckConstraint("label <> ''", name="label_not_empty"),
        CheckConstraint("length(code) BETWEEN 2 AND 6", name="code_length"),
        CheckConstraint("length(note) <= 20 AND qty >= 0 AND qty < 100", name="more"),
        CheckConstraint("qty * 2 <> 50", name="not_recognised"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    label: Mapped[str | None]
    code: Mapped[str | None] = mapped_column(String(10))
    note: Mapped[str | None]
    qty: Mapped[int] = mapped_column(default=0)
    nick: Mapped[str | None] = mapped_column(String(30), info={"min_length": 3})


class GizmoIn(Gizmo.Create):
    """A refined schema: a stricter name; the derived no-NUL pattern and max length stay."""

    name: Annotated[str, Meta(min_length=3, description="At least three characters")]


def props(struct: Any) -> dict[str, Any]:
    result: dict[str, Any] = msgspec.json.schema(struct)["$defs"][struct.__name__]["properties"]
    return result


def test_checks_and_column_bounds_reach_the_schema() -> None:
    found = props(model_schema(Gizmo, "create"))
    assert found["name"] == {
        "type": "string",
        "maxLength": 50,
        "minLength": 1,
        "pattern": "^[^\\x00]*$",
    }
    assert found["label"]["anyOf"][0]["minLength"] == 1
    assert found["note"]["anyOf"][0]["maxLength"] == 20
    assert (found["qty"]["minimum"], found["qty"]["maximum"]) == (0, 99)
    assert found["nick"]["anyOf"][0]["minLength"] == 3
    # BETWEEN is not recognised: the column's own length stays, the database checks the rest
    assert "minLength" not in found["code"]["anyOf"][0]


def test_a_refined_schema_keeps_what_it_does_not_restate() -> None:
    found = props(GizmoIn)["name"]
    assert (found["minLength"], found["maxLength"], found["pattern"]) == (3, 50, "^[^\\x00]*$")
    assert found["description"] == "At least three characters"
    with pytest.raises(msgspec.ValidationError, match="regex"):
        msgspec.convert({"name": "abc\x00"}, GizmoIn)
    with pytest.raises(msgspec.ValidationError, match="length <= 50"):
        msgspec.convert({"name": "x" * 51}, GizmoIn)
    with pytest.raises(msgspec.ValidationError, match="Object contains unknown field"):
        msgspec.convert({"name": "abcd", "other": 1}, GizmoIn)


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    app = App()
    db = Database(app, db_url)

    @app.post("/gizmos", status_code=201)
    async def create(data: GizmoIn, session: Session) -> Gizmo.Read:
        gizmo = Gizmo(data)
        session.add(gizmo)
        return gizmo

    @app.get("/gizmos/{gizmo_id}")
    async def read(gizmo_id: int, session: Session) -> Gizmo.Read:
        return await get_or_404(session, Gizmo, gizmo_id)

    with rolled_back(db, create_all=True), TestClient(app) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "ab"}, "name"),
        ({"name": "abc\u0000"}, "name"),
        ({"name": "abc", "label": ""}, "label"),
        ({"name": "abc", "qty": 100}, "qty"),
        ({"name": "abc", "nick": "ab"}, "nick"),
    ],
)
def test_bad_values_are_422s_with_errors(client: TestClient, body: Any, field: str) -> None:
    response = client.post("/gizmos", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", field]


def test_a_check_the_schema_cannot_say_is_a_422_with_errors(client: TestClient) -> None:
    response = client.post("/gizmos", json={"name": "abc", "qty": 25})  # qty * 2 <> 50
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors"][0]["loc"] == ["body"]
    ok = client.post("/gizmos", json={"name": "abc", "qty": 26})
    assert ok.status_code == 201
    assert client.get(f"/gizmos/{ok.json()['id']}").json()["name"] == "abc"
