"""JSON bodies: every structured type, and each class of bad input with exact locations."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import uuid
from typing import Annotated, Any, Literal, TypedDict

import msgspec
import pydantic
import pytest

from plait import App, Body
from plait.testing import TestClient


def errors_of(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "about:blank"
    assert problem["status"] == 422
    errors: list[dict[str, Any]] = problem["errors"]
    # The detail repeats every error in one human-readable line.
    for error in errors:
        assert ".".join(str(part) for part in error["loc"]) in problem["detail"]
    return errors


def locs(response: Any) -> list[list[Any]]:
    return [error["loc"] for error in errors_of(response)]


class Address(msgspec.Struct):
    city: str
    zip: Annotated[str, msgspec.Meta(min_length=5, max_length=5)]


class ItemIn(msgspec.Struct):
    name: str
    price: Annotated[float, msgspec.Meta(gt=0)]
    tags: list[str] = []
    ship_to: Address | None = None


class Strict(msgspec.Struct, forbid_unknown_fields=True):
    a: int


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0


class Movie(TypedDict):
    title: str
    year: int


class User(pydantic.BaseModel):
    name: str = pydantic.Field(min_length=2)
    age: int = pydantic.Field(ge=0)


def body_app() -> App:
    app = App()

    @app.post("/items", status_code=201)
    async def create_item(item: ItemIn) -> dict[str, Any]:
        return {"type": type(item).__name__, "item": msgspec.to_builtins(item)}

    @app.post("/strict")
    async def strict(value: Strict) -> int:
        return value.a

    @app.post("/point")
    async def point(p: Point) -> dict[str, Any]:
        assert isinstance(p, Point)
        return dataclasses.asdict(p)

    @app.post("/movie")
    async def movie(m: Movie) -> dict[str, Any]:
        return {"title": m["title"], "year": m["year"]}

    @app.post("/user")
    async def user(u: User) -> dict[str, Any]:
        assert isinstance(u, User)
        return u.model_dump()

    @app.post("/scores")
    async def scores(data: dict[str, int]) -> int:
        return sum(data.values())

    @app.post("/numbers")
    async def numbers(data: Annotated[list[int], Body()]) -> int:
        return sum(data)

    return app


@pytest.fixture(scope="module")
def client() -> Any:
    with TestClient(body_app()) as client:
        yield client


# ------------------------------------------------------------------ good bodies


def test_struct_body_nested(client: TestClient) -> None:
    payload = {"name": "hat", "price": 9.5, "ship_to": {"city": "Oslo", "zip": "01500"}}
    response = client.post("/items", json=payload)
    assert response.status_code == 201
    assert response.json() == {
        "type": "ItemIn",
        "item": {**payload, "tags": []},
    }


@pytest.mark.parametrize(
    ("path", "payload", "expected"),
    [
        ("/point", {"x": 1}, {"x": 1, "y": 0}),
        ("/movie", {"title": "Alien", "year": 1979}, {"title": "Alien", "year": 1979}),
        ("/user", {"name": "Ada", "age": 36}, {"name": "Ada", "age": 36}),
        ("/scores", {"a": 1, "b": 2}, 3),
        ("/numbers", [1, 2, 3], 6),
    ],
)
def test_each_structured_type(client: TestClient, path: str, payload: Any, expected: Any) -> None:
    response = client.post(path, json=payload)
    assert response.status_code == 200, response.text
    assert response.json() == expected


def test_json_suffix_media_types_are_json(client: TestClient) -> None:
    for content_type in ("application/json; charset=utf-8", "application/vnd.api+json"):
        response = client.post(
            "/point", content=b'{"x": 2}', headers={"content-type": content_type}
        )
        assert response.json() == {"x": 2, "y": 0}


# ------------------------------------------------------------------ bad bodies


def test_wrong_types_are_all_reported_with_nested_locations(client: TestClient) -> None:
    payload = {
        "name": 5,
        "price": "free",
        "tags": ["a", "b", 3, "d", None],
        "ship_to": {"city": "Oslo", "zip": "1"},
    }
    errors = errors_of(client.post("/items", json=payload))
    assert [e["loc"] for e in errors] == [
        ["body", "name"],
        ["body", "price"],
        ["body", "tags", 2],
        ["body", "tags", 4],
        ["body", "ship_to", "zip"],
    ]
    assert errors[0]["msg"] == "Expected `str`, got `int`"
    assert all(e["type"] == "invalid" for e in errors)


def test_missing_fields(client: TestClient) -> None:
    errors = errors_of(client.post("/items", json={"tags": [], "ship_to": {}}))
    assert errors == [
        {"loc": ["body", "name"], "msg": "Field required", "type": "missing"},
        {"loc": ["body", "price"], "msg": "Field required", "type": "missing"},
        {"loc": ["body", "ship_to", "city"], "msg": "Field required", "type": "missing"},
        {"loc": ["body", "ship_to", "zip"], "msg": "Field required", "type": "missing"},
    ]


def test_whole_number_floats_are_integers(client: TestClient) -> None:
    # JSON Schema (and so the OpenAPI document) counts 3.0 as an integer.
    assert client.post("/numbers", json=[1.0, 2, 3.0]).json() == 6
    assert client.post("/scores", json={"a": 2.0, "b": 1}).json() == 3
    assert client.post("/strict", json={"a": 4.0}).json() == 4
    # A float field still keeps its fraction, and a real fraction is still no integer.
    assert client.post("/items", json={"name": "hat", "price": 2.0, "x": 1.0}).status_code == 201
    [error] = errors_of(client.post("/numbers", json=[1, 2.5]))
    assert error["loc"] == ["body", 1]


def test_out_of_range(client: TestClient) -> None:
    [error] = errors_of(client.post("/items", json={"name": "hat", "price": 0}))
    assert error["loc"] == ["body", "price"]
    assert "> 0" in error["msg"]


def test_unknown_fields_are_ignored_by_default(client: TestClient) -> None:
    response = client.post("/items", json={"name": "hat", "price": 1, "colour": "red"})
    assert response.status_code == 201
    assert "colour" not in response.json()["item"]


def test_unknown_fields_are_errors_with_forbid_unknown_fields(client: TestClient) -> None:
    assert client.post("/strict", json={"a": 1}).json() == 1
    errors = errors_of(client.post("/strict", json={"a": "x", "b": 1, "c": 2}))
    assert errors == [
        {"loc": ["body", "a"], "msg": "Expected `int`, got `str`", "type": "invalid"},
        {"loc": ["body", "b"], "msg": "Unknown field", "type": "extra_forbidden"},
        {"loc": ["body", "c"], "msg": "Unknown field", "type": "extra_forbidden"},
    ]


def test_bad_dataclass_typeddict_dict_and_list(client: TestClient) -> None:
    assert locs(client.post("/point", json={"x": "1", "y": "2"})) == [
        ["body", "x"],
        ["body", "y"],
    ]
    assert locs(client.post("/movie", json={"year": "1979"})) == [
        ["body", "title"],
        ["body", "year"],
    ]
    assert locs(client.post("/scores", json={"a": 1, "b": "x", "c": None})) == [
        ["body", "b"],
        ["body", "c"],
    ]
    assert locs(client.post("/numbers", json=[1, "two", 3, "four"])) == [
        ["body", 1],
        ["body", 3],
    ]


def test_pydantic_errors_are_relocated_under_body(client: TestClient) -> None:
    errors = errors_of(client.post("/user", json={"name": "A", "age": -1}))
    assert [e["loc"] for e in errors] == [["body", "name"], ["body", "age"]]
    assert [e["type"] for e in errors] == ["string_too_short", "greater_than_equal"]
    assert errors_of(client.post("/user", json={}))[0]["type"] == "missing"


def test_wrong_top_level_type(client: TestClient) -> None:
    [error] = errors_of(client.post("/items", json=[1, 2]))
    assert error["loc"] == ["body"]
    assert error["msg"] == "Expected `object`, got `array`"


@pytest.mark.parametrize("path", ["/items", "/user", "/numbers"])
def test_malformed_json_is_400(client: TestClient, path: str) -> None:
    response = client.post(
        path, content=b'{"name": "hat",', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Malformed JSON"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_wrong_content_type_is_415(client: TestClient, content_type: str) -> None:
    response = client.post(
        "/items", content=b'{"name": "hat", "price": 1}', headers={"content-type": content_type}
    )
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"
    assert content_type in response.json()["detail"]


@pytest.mark.parametrize("path", ["/items", "/user", "/numbers"])
def test_empty_body_when_required_is_422(client: TestClient, path: str) -> None:
    errors = errors_of(client.post(path))
    assert errors == [{"loc": ["body"], "msg": "A JSON body is required", "type": "missing"}]


def test_null_for_a_required_body(client: TestClient) -> None:
    assert locs(client.post("/items", content=b"null")) == [["body"]]
    assert locs(client.post("/user", content=b"null")) == [["body"]]


# ------------------------------------------------------------------ several body params


def test_optional_body_takes_its_default_when_empty() -> None:
    app = App()

    @app.post("/maybe")
    async def maybe(item: ItemIn | None = None) -> str:
        return "none" if item is None else item.name

    with TestClient(app) as client:
        assert client.post("/maybe").text == "none"
        assert client.post("/maybe", content=b"null").text == "none"
        assert client.post("/maybe", json={"name": "hat", "price": 1}).text == "hat"
        assert locs(client.post("/maybe", json={"name": "hat", "price": -1})) == [["body", "price"]]


def test_several_body_params_are_keys_of_one_object() -> None:
    app = App()

    @app.post("/pair")
    async def pair(
        point: Point,
        item: ItemIn,
        note: Annotated[str, Body(max_length=5)] = "",
    ) -> list[Any]:
        return [point.x, item.name, note]

    with TestClient(app) as client:
        payload = {"point": {"x": 1}, "item": {"name": "hat", "price": 2}, "note": "hi"}
        assert client.post("/pair", json=payload).json() == [1, "hat", "hi"]
        bad = {"point": {"x": "a"}, "item": {"price": 2, "tags": [1]}, "note": "too long"}
        assert locs(client.post("/pair", json=bad)) == [
            ["body", "point", "x"],
            ["body", "item", "name"],
            ["body", "item", "tags", 0],
            ["body", "note"],
        ]
        assert locs(client.post("/pair", json={})) == [["body", "point"], ["body", "item"]]


def test_embedded_body() -> None:
    app = App()

    @app.post("/embed")
    async def embed(item: Annotated[ItemIn, Body(embed=True)]) -> str:
        return item.name

    with TestClient(app) as client:
        assert client.post("/embed", json={"item": {"name": "hat", "price": 1}}).text == "hat"
        assert locs(client.post("/embed", json={"name": "hat", "price": 1})) == [["body", "item"]]
        assert locs(client.post("/embed", json={"item": {"name": "hat", "price": 0}})) == [
            ["body", "item", "price"]
        ]


def test_scalar_body_params_with_constraints() -> None:
    app = App()

    @app.post("/transfer")
    async def transfer(
        amount: Annotated[int, Body(ge=1)], currency: Annotated[str, Body()] = "EUR"
    ) -> list[Any]:
        return [amount, currency]

    with TestClient(app) as client:
        assert client.post("/transfer", json={"amount": 5}).json() == [5, "EUR"]
        assert locs(client.post("/transfer", json={"amount": 0, "currency": 1})) == [
            ["body", "amount"],
            ["body", "currency"],
        ]


# ------------------------------------------------------------------ Pydantic everywhere


def test_pydantic_model_in_containers_optional_and_embedded() -> None:
    app = App()

    @app.post("/many")
    async def many(users: list[User]) -> list[str]:
        assert all(isinstance(u, User) for u in users)
        return [u.name for u in users]

    @app.post("/maybe")
    async def maybe(user: User | None = None) -> str:
        return "nobody" if user is None else user.name

    @app.post("/two")
    async def two(owner: User, point: Point) -> list[Any]:
        assert isinstance(owner, User)
        return [owner.name, point.x]

    @app.post("/embedded")
    async def embedded(user: Annotated[User, Body(embed=True)]) -> str:
        return user.name

    with TestClient(app) as client:
        ada = {"name": "Ada", "age": 36}
        assert client.post("/many", json=[ada, ada]).json() == ["Ada", "Ada"]
        assert locs(client.post("/many", json=[ada, {"name": "B", "age": 1}])) == [
            ["body", 1, "name"]
        ]
        assert client.post("/maybe").text == "nobody"
        assert client.post("/maybe", json=ada).text == "Ada"
        assert locs(client.post("/maybe", json={"name": "Ada", "age": -2})) == [["body", "age"]]
        assert client.post("/two", json={"owner": ada, "point": {"x": 4}}).json() == ["Ada", 4]
        bad = {"owner": {"name": "Ada", "age": "old"}, "point": {"x": "four"}}
        assert locs(client.post("/two", json=bad)) == [
            ["body", "point", "x"],
            ["body", "owner", "age"],
        ]
        wrong_owner = {"owner": {"name": "A", "age": 1}, "point": {"x": 1}}
        assert locs(client.post("/two", json=wrong_owner)) == [["body", "owner", "name"]]
        assert client.post("/embedded", json={"user": ada}).text == "Ada"
        assert locs(client.post("/embedded", json={"user": {"age": 1}})) == [
            ["body", "user", "name"]
        ]


def test_validation_error_is_never_a_500_for_odd_json() -> None:
    app = App()

    @app.post("/items")
    async def create(item: ItemIn) -> str:
        return item.name

    odd_bodies = [b"1", b'"text"', b"true", b"[]", b'{"name": {"deep": [1, 2]}, "price": []}']
    with TestClient(app) as client:
        for body in odd_bodies:
            response = client.post("/items", content=body)
            assert response.status_code == 422, (body, response.text)


class Size(enum.Enum):
    S = "s"
    L = "l"


class Everything(msgspec.Struct):
    when: datetime.datetime
    day: datetime.date
    at: datetime.time
    amount: decimal.Decimal
    ref: uuid.UUID
    size: Size
    mode: Literal["fast", "safe"]
    blob: bytes
    ids: set[int]
    pair: tuple[int, str]
    scores: dict[str, float]
    maybe: int | None = None


def test_every_type_in_a_body() -> None:
    app = App()

    @app.post("/everything")
    async def everything(e: Everything) -> dict[str, Any]:
        return {
            "when": e.when.year,
            "day": e.day.month,
            "at": e.at.minute,
            "amount": str(e.amount + 1),
            "ref": e.ref.version,
            "size": e.size.name,
            "mode": e.mode,
            "blob": e.blob.decode(),
            "ids": sorted(e.ids),
            "pair": list(e.pair),
            "scores": e.scores,
            "maybe": e.maybe,
        }

    good = {
        "when": "2024-05-06T07:08:09Z",
        "day": "2024-05-06",
        "at": "07:08:09",
        "amount": "1.10",
        "ref": str(uuid.uuid4()),
        "size": "l",
        "mode": "safe",
        "blob": "aGk=",
        "ids": [3, 1, 3],
        "pair": [1, "a"],
        "scores": {"x": 1.5},
    }
    bad = {
        "when": "soon",
        "day": "2024-02-30",
        "at": "noon",
        "amount": "lots",
        "ref": "nope",
        "size": "xl",
        "mode": "reckless",
        "blob": "!!",
        "ids": [1, "two"],
        "pair": [1, 2],
        "scores": {"x": "high"},
        "maybe": "x",
    }
    with TestClient(app) as client:
        assert client.post("/everything", json=good).json() == {
            "when": 2024,
            "day": 5,
            "at": 8,
            "amount": "2.10",
            "ref": 4,
            "size": "L",
            "mode": "safe",
            "blob": "hi",
            "ids": [1, 3],
            "pair": [1, "a"],
            "scores": {"x": 1.5},
            "maybe": None,
        }
        errors = errors_of(client.post("/everything", json=bad))
        assert [e["loc"] for e in errors] == [
            ["body", "when"],
            ["body", "day"],
            ["body", "at"],
            ["body", "amount"],
            ["body", "ref"],
            ["body", "size"],
            ["body", "mode"],
            ["body", "blob"],
            ["body", "ids", 1],
            ["body", "pair", 1],
            ["body", "scores", "x"],
            ["body", "maybe"],
        ]
        assert errors[5]["msg"] == "Invalid enum value 'xl'"
