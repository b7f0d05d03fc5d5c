"""Output types: the return annotation or ``response_model=`` validates and filters responses."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Generic, TypedDict, TypeVar, get_origin

import msgspec
import pydantic
import pytest

from plait import App, RedirectResponse, Response
from plait.testing import TestClient

ROW = {"id": 1, "name": "ada", "password_hash": "SECRET-HASH"}


class UserOut(msgspec.Struct):
    id: int
    name: str


class PydanticUser(pydantic.BaseModel):
    id: int
    name: str


@dataclasses.dataclass
class DataUser:
    id: int
    name: str


class DictUser(TypedDict):
    id: int
    name: str


class UserRow:
    """Stands for an ORM object: attributes, one of which must never be sent."""

    def __init__(self, id: int = 1, name: str = "ada") -> None:
        self.id = id
        self.name = name
        self.password_hash = "SECRET-HASH"


T = TypeVar("T")


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    total: int


def assert_no_leak(response: Any) -> None:
    assert "SECRET" not in response.text
    assert "password_hash" not in response.text


@pytest.mark.parametrize(
    ("out", "source"),
    [
        *((out, source) for out in (UserOut, PydanticUser, DataUser) for source in ("dict", "obj")),
        (DictUser, "dict"),  # a TypedDict is built from a mapping, not from attributes
    ],
)
def test_return_annotation_filters_dicts_and_objects(out: Any, source: str) -> None:
    app = App()

    async def handler() -> Any:
        return dict(ROW) if source == "dict" else UserRow()

    handler.__annotations__["return"] = out
    app.get("/me")(handler)
    with TestClient(app) as client:
        response = client.get("/me")
        assert response.status_code == 200
        assert response.json() == {"id": 1, "name": "ada"}
        assert_no_leak(response)


@pytest.mark.parametrize(
    "annotation",
    [
        list[UserOut],
        list[PydanticUser],
        dict[str, UserOut],
        UserOut | None,
        PydanticUser | None,
        tuple[UserOut, ...],
    ],
)
def test_containers_of_output_types_filter_too(annotation: Any) -> None:
    app = App()

    async def handler() -> Any:
        if annotation in (UserOut | None, PydanticUser | None):
            return UserRow()
        if annotation == dict[str, UserOut]:
            return {"first": UserRow(), "second": dict(ROW)}
        return [UserRow(), dict(ROW)]

    handler.__annotations__["return"] = annotation
    app.get("/users")(handler)
    with TestClient(app) as client:
        response = client.get("/users")
        assert response.status_code == 200, response.text
        assert_no_leak(response)
        user = {"id": 1, "name": "ada"}
        body = response.json()
        if isinstance(body, dict) and "first" in body:
            assert body == {"first": user, "second": user}
        elif isinstance(body, list):
            assert body == [user, user]
        else:
            assert body == user


def test_response_model_overrides_the_annotation() -> None:
    app = App()

    @app.get("/users", response_model=list[UserOut])
    async def users() -> Any:
        return [dict(ROW), UserRow(2, "bob")]

    with TestClient(app) as client:
        response = client.get("/users")
        assert response.json() == [{"id": 1, "name": "ada"}, {"id": 2, "name": "bob"}]
        assert_no_leak(response)


def test_generic_struct_output() -> None:
    app = App()

    @app.get("/page")
    async def page() -> Page[UserOut]:
        return {"items": [dict(ROW)], "total": 1, "cursor": "SECRET"}  # type: ignore[return-value]

    with TestClient(app) as client:
        response = client.get("/page")
        assert response.json() == {"items": [{"id": 1, "name": "ada"}], "total": 1}
        assert_no_leak(response)


def test_declared_instances_pass_straight_through() -> None:
    app = App()

    @app.get("/struct")
    async def struct() -> UserOut:
        return UserOut(3, "cy")

    @app.get("/model")
    async def model() -> PydanticUser:
        return PydanticUser(id=4, name="di")

    with TestClient(app) as client:
        assert client.get("/struct").json() == {"id": 3, "name": "cy"}
        assert client.get("/model").json() == {"id": 4, "name": "di"}


@pytest.mark.parametrize("out", [UserOut, PydanticUser, list[UserOut], list[PydanticUser]])
def test_response_validation_failure_is_a_500_without_leak(
    out: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app = App()
    bad = {"id": "not-a-number", "password_hash": "SECRET-HASH"}

    async def handler() -> Any:
        return [bad] if get_origin(out) is list else bad

    handler.__annotations__["return"] = out
    app.get("/broken")(handler)
    with caplog.at_level(logging.ERROR, logger="plait.error"), TestClient(app) as client:
        response = client.get("/broken")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
    }
    assert_no_leak(response)
    # The server log says what went wrong; the client never sees it.
    assert "does not match" in caplog.text


def test_responses_pass_through_and_none_is_empty() -> None:
    app = App()

    @app.get("/maybe/{n}")
    async def maybe(n: int) -> UserOut | RedirectResponse | None:
        if n == 0:
            return None
        if n == 1:
            return RedirectResponse("/elsewhere", status_code=303)
        return UserRow()  # type: ignore[return-value]

    @app.get("/raw")
    async def raw() -> UserOut:
        return Response(b"raw bytes", media_type="text/plain")  # type: ignore[return-value]

    with TestClient(app, follow_redirects=False) as client:
        assert client.get("/maybe/0").status_code == 204
        redirect = client.get("/maybe/1")
        assert redirect.status_code == 303
        assert redirect.headers["location"] == "/elsewhere"
        assert client.get("/maybe/2").json() == {"id": 1, "name": "ada"}
        assert client.get("/raw").text == "raw bytes"


def test_status_code_and_responses_option() -> None:
    app = App()

    class Problem(msgspec.Struct):
        title: str
        status: int

    @app.post("/users", status_code=201, responses={404: Problem, 409: {"description": "Taken"}})
    async def create() -> UserOut:
        return UserRow()  # type: ignore[return-value]

    with TestClient(app) as client:
        response = client.post("/users")
        assert response.status_code == 201
        assert response.json() == {"id": 1, "name": "ada"}
    [route] = [r for r in app.routes if getattr(r, "path", None) == "/users"]
    assert route.responses == {404: Problem, 409: {"description": "Taken"}}  # type: ignore[union-attr]


def test_unannotated_and_plain_annotations_do_not_filter() -> None:
    app = App()

    @app.get("/untyped")
    async def untyped():  # type: ignore[no-untyped-def]
        return {"a": 1, "extra": 2}

    @app.get("/dict")
    async def as_dict() -> dict[str, Any]:
        return {"a": 1, "extra": 2}

    with TestClient(app) as client:
        assert client.get("/untyped").json() == {"a": 1, "extra": 2}
        assert client.get("/dict").json() == {"a": 1, "extra": 2}


def test_sync_handler_output_is_filtered() -> None:
    app = App()

    @app.get("/sync")
    def sync() -> list[DataUser]:
        return [UserRow()]  # type: ignore[list-item]

    with TestClient(app) as client:
        response = client.get("/sync")
        assert response.json() == [{"id": 1, "name": "ada"}]
        assert_no_leak(response)


def test_unsupported_output_union_fails_at_start_up() -> None:
    class Other(msgspec.Struct):
        code: str

    app = App()

    async def ambiguous() -> Any:
        return {}

    ambiguous.__annotations__["return"] = UserOut | Other
    app.get("/ambiguous")(ambiguous)
    with pytest.raises(TypeError, match="Cannot validate responses against"):
        app.build()


def test_a_list_of_the_declared_class_is_sent_as_it_is() -> None:
    """``list[Out]`` holding ``Out`` instances (rows read into Structs) is not converted
    again, like a single ``Out``: the same object reaches the encoder."""
    app = App()
    seen: list[Any] = []
    users = [UserOut(1, "ada"), UserOut(2, "bob")]

    @app.get("/users")
    async def listed() -> list[UserOut]:
        return users

    @app.get("/mixed")
    async def mixed() -> list[UserOut]:
        return [UserOut(1, "ada"), ROW]  # type: ignore[list-item]

    original = msgspec.convert

    def spy(value: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(value)
        return original(value, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch, TestClient(app) as client:
        patch.setattr(msgspec, "convert", spy)
        assert client.get("/users").json() == [{"id": 1, "name": "ada"}, {"id": 2, "name": "bob"}]
        assert seen == []
        assert client.get("/mixed").json() == [{"id": 1, "name": "ada"}, {"id": 1, "name": "ada"}]
        assert len(seen) == 1
