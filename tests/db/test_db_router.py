"""crud_router: list/get/create/update/delete for a model, with bounds, filters and 404s."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from db_harness import Article, Author
from sqlalchemy.orm import Mapped, mapped_column

from plait import App
from plait._routing import Route
from plait.db import Database, Model, crud_router, model_schema
from plait.db.testing import rolled_back
from plait.testing import TestClient


class Pair(Model):
    left: Mapped[int] = mapped_column(primary_key=True)
    right: Mapped[int] = mapped_column(primary_key=True)


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    app = App()
    db = Database(app, db_url)
    app.include_router(crud_router(Article, prefix="/articles"))
    app.include_router(crud_router(Author))
    with rolled_back(db, create_all=True), TestClient(app) as test_client:
        yield test_client


def post(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post("/articles", json={"body": "b", **body})
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_create_get_update_delete(client: TestClient) -> None:
    created = post(client, title="first", tags=["a"])
    assert created["id"] == 1
    assert created["views"] == 0
    assert created["created_at"].endswith("Z")  # the server default, read back
    assert "internal_note" not in created
    assert client.get("/articles/1").json() == created

    patched = client.patch("/articles/1", json={"views": 5, "rating": None}).json()
    assert (patched["views"], patched["title"], patched["rating"]) == (5, "first", None)
    assert patched["updated_at"] is not None

    assert client.delete("/articles/1").status_code == 204
    assert client.get("/articles/1").status_code == 404
    assert client.patch("/articles/1", json={"views": 1}).status_code == 404
    assert client.delete("/articles/1").status_code == 404


def test_write_only_fields_are_accepted_but_never_shown(client: TestClient) -> None:
    response = client.post("/authors", json={"name": "ann", "password": "hunter2"})
    assert response.status_code == 201
    assert response.json() == {"id": 1, "name": "ann", "email": None}
    assert "hunter2" not in client.get("/authors").text


def test_invalid_input_is_422(client: TestClient) -> None:
    assert client.post("/articles", json={"title": "t"}).status_code == 422  # body missing
    assert (
        client.post("/articles", json={"title": "t", "body": "b", "views": 2**31}).status_code
        == 422
    )
    assert client.post("/articles", json={"title": "t", "body": "b", "extra": 1}).status_code == 422
    post(client, title="t")
    assert client.patch("/articles/1", json={"title": None}).status_code == 422
    assert client.patch("/articles/1", json={"tags": None}).status_code == 422
    assert client.get("/articles/99999999999").status_code == 422
    assert client.get("/articles/abc").status_code == 422
    assert client.get("/articles", params={"size": 101}).status_code == 422
    assert client.get("/articles", params={"page": 0}).status_code == 422
    assert client.get("/articles", params={"sort": "body"}).status_code == 422
    assert client.get("/articles", params={"views": "many"}).status_code == 422
    # And nothing invalid was stored: the list still renders.
    assert client.get("/articles").status_code == 200


def test_conflicts_are_409(client: TestClient) -> None:
    post(client, title="same")
    response = client.post("/articles", json={"title": "same", "body": "b"})
    assert response.status_code == 409
    other = post(client, title="other")
    assert client.patch(f"/articles/{other['id']}", json={"title": "same"}).status_code == 409


def test_list_pages_filters_and_sorts(client: TestClient) -> None:
    for i in range(30):
        post(client, title=f"t{i:02}", views=i % 3, published=i % 2 == 0)
    page = client.get("/articles").json()
    assert (page["total"], page["size"], page["pages"], len(page["items"])) == (30, 20, 2, 20)
    second = client.get("/articles", params={"page": 2}).json()
    assert [a["id"] for a in second["items"]] == list(range(21, 31))
    filtered = client.get("/articles", params={"views": 1, "published": "true"}).json()
    assert {(a["views"], a["published"]) for a in filtered["items"]} == {(1, True)}
    assert filtered["total"] == 5
    by_title = client.get("/articles", params={"sort": "-title", "size": 3}).json()
    assert [a["title"] for a in by_title["items"]] == ["t29", "t28", "t27"]
    by_id = client.get("/articles", params={"sort": "-id", "size": 2}).json()
    assert [a["id"] for a in by_id["items"]] == [30, 29]


def test_every_answer_is_documented() -> None:
    router = crud_router(Article)
    routes = {(sorted(r.methods)[0], r.path): r for r in router.routes if isinstance(r, Route)}
    assert set(routes) == {
        ("GET", "/articles"),
        ("POST", "/articles"),
        ("GET", "/articles/{id}"),
        ("PUT", "/articles/{id}"),
        ("PATCH", "/articles/{id}"),
        ("DELETE", "/articles/{id}"),
    }
    assert set(routes["GET", "/articles"].responses) == {503}
    assert set(routes["POST", "/articles"].responses) == {409, 503}
    assert set(routes["GET", "/articles/{id}"].responses) == {404, 503}
    assert set(routes["PATCH", "/articles/{id}"].responses) == {404, 409, 503}
    assert set(routes["PUT", "/articles/{id}"].responses) == {404, 409, 503}
    assert set(routes["DELETE", "/articles/{id}"].responses) == {404, 409, 503}
    assert routes["POST", "/articles"].status_code == 201
    assert routes["DELETE", "/articles/{id}"].status_code == 204
    assert routes["GET", "/articles"].tags == ["Article"]


def test_options(db_url: str) -> None:
    router = crud_router(
        Article,
        prefix="/posts",
        tags=["posts"],
        operations=["list", "get"],
        read=model_schema(Article, "read", exclude=["body"]),
        filter_by=["published"],
        sort_by=["views"],
        page_size=5,
        max_page_size=10,
    )
    app = App()
    db = Database(app, db_url)
    app.include_router(router)
    with rolled_back(db, create_all=True), TestClient(app) as client:
        assert client.post("/posts", json={}).status_code == 405
        body = client.get("/posts").json()
        assert body["size"] == 5
        assert client.get("/posts", params={"size": 11}).status_code == 422
        assert client.get("/posts", params={"sort": "-views"}).status_code == 200
        assert client.get("/posts", params={"sort": "title"}).status_code == 422


def test_bad_configuration_is_refused_up_front() -> None:
    with pytest.raises(ValueError, match="only single-column primary keys"):
        crud_router(Pair)
    with pytest.raises(ValueError, match="filter_by can't use \\['password'\\]"):
        crud_router(Author, filter_by=["password"])
    with pytest.raises(ValueError, match="unknown operations"):
        crud_router(Author, operations=["list", "explode"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="must start with '/'"):
        crud_router(Author, prefix="authors/")


def test_default_prefixes_are_plural() -> None:
    from plait.db._router import _plural

    assert [_plural(n) for n in ("article", "category", "box", "status", "day")] == [
        "articles",
        "categories",
        "boxes",
        "status",
        "days",
    ]
    assert any(r.path == "/authors" for r in crud_router(Author).routes if isinstance(r, Route))


def test_put_replaces_every_field(client: TestClient) -> None:
    post(client, title="first", views=7, rating=3, published=True, tags=["a"])
    replaced = client.put("/articles/1", json={"title": "new", "body": "text"})
    assert replaced.status_code == 200, replaced.text
    body = replaced.json()
    # fields left out take their defaults (a PATCH would have kept them)
    assert (body["title"], body["views"], body["rating"], body["published"]) == (
        "new",
        0,
        None,
        False,
    )
    assert body["tags"] == []
    assert client.get("/articles/1").json() == body
    assert client.put("/articles/1", json={"title": "only"}).status_code == 422  # body missing
    assert client.put("/articles/1", json={"title": "t", "body": "b", "id": 2}).status_code == 422
    assert client.put("/articles/9", json={"title": "t", "body": "b"}).status_code == 404
    post(client, title="taken")
    assert client.put("/articles/1", json={"title": "taken", "body": "b"}).status_code == 409


def test_limit_offset_pagination(db_url: str) -> None:
    app = App()
    db = Database(app, db_url)
    app.include_router(crud_router(Article, prefix="/articles", pagination="offset"))
    with rolled_back(db, create_all=True), TestClient(app) as client:
        for i in range(5):
            post(client, title=f"t{i}")
        page = client.get("/articles", params={"limit": 2, "offset": 3}).json()
        assert [a["title"] for a in page["items"]] == ["t3", "t4"]
        assert (page["total"], page["limit"], page["offset"]) == (5, 2, 3)
        assert client.get("/articles").json()["limit"] == 20
        assert client.get("/articles", params={"offset": 2**31}).status_code == 422
        assert client.get("/articles", params={"offset": -1}).status_code == 422
        assert client.get("/articles", params={"limit": 101}).status_code == 422
        assert client.get("/articles", params={"page": 2}).json()["offset"] == 0  # not a filter
    with pytest.raises(ValueError, match="pagination"):
        crud_router(Article, pagination="cursor")  # type: ignore[arg-type]
