"""Dependencies run before a request's invalid values are refused: an anonymous request with
a bad body to a route that needs a login hears 401, not 422 (as with FastAPI and DRF).

No ``from __future__ import annotations``: the dependencies are defined inside the tests.
"""

from collections.abc import AsyncIterator
from typing import Annotated

import msgspec

from plait import App, Depends, Header, HTTPException, Query
from plait.testing import TestClient


class Item(msgspec.Struct):
    name: str
    qty: int


def logged_in(authorization: Annotated[str | None, Header()] = None) -> str:
    if authorization != "Bearer good":
        raise HTTPException(401, "Log in first")
    return "ada"


User = Annotated[str, Depends(logged_in)]
GOOD = {"Authorization": "Bearer good"}


def test_a_refused_login_comes_before_invalid_values() -> None:
    app = App()

    @app.post("/items")
    async def create(item: Item, user: User, limit: int = 10) -> Item:
        return item

    with TestClient(app) as client:
        for request in [
            {"json": {"name": "tea"}},  # a field missing
            {"json": {"name": "tea", "qty": "many"}},  # a wrong type
            {},  # no body at all
            {"json": {"name": "tea", "qty": 1}, "params": {"limit": "x"}},  # a bad query
        ]:
            assert client.post("/items", **request).status_code == 401, request
            invalid = client.post("/items", headers=GOOD, **request)
            assert invalid.status_code == 422, request
        # A body that is not JSON at all is refused before anything else (FastAPI too).
        malformed = client.post(
            "/items", content=b"{", headers={"content-type": "application/json"}
        )
        assert malformed.status_code == 400
        good = client.post("/items", json={"name": "tea", "qty": 1}, headers=GOOD)
        assert good.json() == {"name": "tea", "qty": 1}


def test_a_dependency_whose_own_value_is_invalid_does_not_run() -> None:
    app = App()
    calls: list[int] = []

    def page(size: Annotated[int, Query()] = 20) -> int:
        calls.append(size)
        raise HTTPException(401, "never reached with a bad size")

    @app.post("/items")
    async def create(item: Item, size: Annotated[int, Depends(page)]) -> Item:
        return item

    with TestClient(app) as client:
        refused = client.post("/items", params={"size": "x"}, json={"name": "tea"})
        assert refused.status_code == 422
        locations = [error["loc"] for error in refused.json()["errors"]]
        assert ["query", "size"] in locations
        assert ["body", "qty"] in locations
        assert calls == []
        assert client.post("/items", json={"name": "tea"}).status_code == 401
        assert calls == [20]


def test_function_scoped_dependencies_clean_up_seeing_the_refusal() -> None:
    app = App()
    seen: list[str] = []

    async def transaction() -> AsyncIterator[str]:
        try:
            yield "tx"
            seen.append("commit")
        except HTTPException as exc:
            seen.append(f"rollback after {exc.status_code}")
            raise

    @app.post("/items")
    async def create(
        item: Item, user: User, tx: Annotated[str, Depends(transaction, scope="function")]
    ) -> Item:
        return item

    with TestClient(app) as client:
        assert client.post("/items", json={}, headers=GOOD).status_code == 422
        assert seen == ["rollback after 422"]
        assert client.post("/items", json={"name": "tea", "qty": 1}, headers=GOOD).is_success
        assert seen == ["rollback after 422", "commit"]
