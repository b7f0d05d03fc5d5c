"""Return values become responses: text, bytes, JSON-able values, None, Response passthrough."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
import pydantic
import pytest

from plait import (
    App,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from plait._results import PreparedResponse, make_message_writer, make_renderer
from plait.testing import TestClient


class ItemStruct(msgspec.Struct):
    name: str
    price: float


@dataclass
class ItemDataclass:
    name: str
    tags: list[str]


class ItemModel(pydantic.BaseModel):
    name: str
    created: datetime


class Color(enum.StrEnum):
    RED = "red"


def _get(result: Any, **route_options: Any) -> Any:
    """Serve ``result`` from a GET handler (declared as returning Any) and fetch it."""
    app = App()

    @app.get("/", **route_options)
    def handler() -> Any:
        return result

    with TestClient(app, follow_redirects=False) as client:
        return client.get("/")


def test_str_is_plain_text() -> None:
    response = _get("héllo")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-length"] == str(len("héllo".encode()))
    assert response.text == "héllo"


def test_str_subclass_is_plain_text() -> None:
    response = _get(Color.RED)
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == "red"


def test_bytes_are_octet_stream() -> None:
    response = _get(b"\x00\x01\x02")
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-length"] == "3"
    assert response.content == b"\x00\x01\x02"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"a": 1, "b": [True, None]}, {"a": 1, "b": [True, None]}),
        ([1, "two", 3.5], [1, "two", 3.5]),
        ((1, 2), [1, 2]),
        (ItemStruct("pen", 1.5), {"name": "pen", "price": 1.5}),
        (ItemDataclass("cup", ["a"]), {"name": "cup", "tags": ["a"]}),
        (
            ItemModel(name="mug", created=datetime(2024, 5, 6, tzinfo=UTC)),
            {"name": "mug", "created": "2024-05-06T00:00:00Z"},
        ),
        (
            [ItemModel(name="a", created=datetime(2024, 1, 1, tzinfo=UTC))],
            [{"name": "a", "created": "2024-01-01T00:00:00Z"}],
        ),
        ({"nested": ItemDataclass("x", [])}, {"nested": {"name": "x", "tags": []}}),
        (
            {"model": ItemModel(name="m", created=datetime(2024, 1, 1, tzinfo=UTC))},
            {"model": {"name": "m", "created": "2024-01-01T00:00:00Z"}},
        ),
        (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
        (42, 42),
        (True, True),
    ],
)
def test_json_able_values_are_json(value: Any, expected: Any) -> None:
    response = _get(value)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["content-length"]) == len(response.content)
    assert response.json() == expected


def test_none_is_204_without_body_or_length() -> None:
    response = _get(None)
    assert response.status_code == 204
    assert response.content == b""
    assert "content-length" not in response.headers
    assert "content-type" not in response.headers


def test_none_with_a_status_code_is_an_empty_body() -> None:
    response = _get(None, status_code=201)
    assert response.status_code == 201
    assert response.headers["content-length"] == "0"
    response = _get(None, status_code=304)
    assert response.status_code == 304
    assert "content-length" not in response.headers


def test_status_code_option_applies_to_rendered_values() -> None:
    assert _get({"id": 1}, status_code=201).status_code == 201
    assert _get("made", status_code=202).status_code == 202
    assert _get(b"raw", status_code=203).status_code == 203


def test_a_returned_response_passes_through_untouched() -> None:
    response = _get(PlainTextResponse("teapot", status_code=418), status_code=201)
    assert response.status_code == 418
    assert response.text == "teapot"
    streamed = _get(StreamingResponse(iter([b"a", b"b"])))
    assert streamed.content == b"ab"


def test_response_class_html() -> None:
    response = _get("<h1>hi</h1>", response_class=HTMLResponse)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == "<h1>hi</h1>"


def test_response_class_with_status_code() -> None:
    response = _get("gone", response_class=PlainTextResponse, status_code=410)
    assert response.status_code == 410
    assert response.text == "gone"


def test_response_class_still_lets_responses_through() -> None:
    response = _get(JSONResponse([1]), response_class=HTMLResponse)
    assert response.headers["content-type"] == "application/json"


def test_response_class_redirect_keeps_its_default_status() -> None:
    response = _get("/elsewhere", response_class=RedirectResponse)
    assert response.status_code == 307
    assert response.headers["location"] == "/elsewhere"
    response = _get("/elsewhere", response_class=RedirectResponse, status_code=302)
    assert response.status_code == 302


def test_response_class_json_makes_strings_json() -> None:
    response = _get("hello", response_class=JSONResponse)
    assert response.headers["content-type"] == "application/json"
    assert response.json() == "hello"
    assert _get({"a": 1}, response_class=JSONResponse, status_code=201).status_code == 201
    assert _get(None, response_class=JSONResponse).status_code == 204


def test_response_class_refusing_the_value_is_a_500() -> None:
    response = _get({"a": 1}, response_class=HTMLResponse)
    assert response.status_code == 500
    assert response.json()["title"] == "Internal Server Error"


def test_unrenderable_value_is_a_500_that_leaks_nothing() -> None:
    class Secret:
        def __repr__(self) -> str:
            return "Secret(password=hunter2)"

    response = _get(Secret())
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
    }
    assert b"hunter2" not in response.content
    assert b"Secret" not in response.content


def test_prepared_response_is_a_response() -> None:
    render = make_renderer(None, None)
    response = render("x")
    assert isinstance(response, PreparedResponse)
    assert isinstance(response, Response)
    assert response.status_code == 200
    assert response.body == b"x"
    assert response.background is None


def test_common_results_are_sent_without_a_response_object() -> None:
    direct = make_message_writer(201, None)
    assert direct is not None
    start, body = direct({"a": 1}) or ({}, b"")
    assert start == {
        "type": "http.response.start",
        "status": 201,
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"7")],
    }
    assert body == b'{"a":1}'
    # Anything else is left to the renderer.
    assert direct(None) is None
    assert direct(b"raw") is None
    assert direct(PlainTextResponse("x")) is None
    assert make_message_writer(None, HTMLResponse) is None


def test_only_a_value_of_the_declared_class_skips_the_renderer() -> None:
    direct = make_message_writer(None, None, ItemStruct)
    assert direct is not None
    start, body = direct(ItemStruct("pen", 1.5)) or ({}, b"")
    assert start["status"] == 200
    assert body == b'{"name":"pen","price":1.5}'
    # A dict must be checked and filtered against ItemStruct first: the renderer does it.
    assert direct({"name": "pen", "price": 1.5, "secret": "x"}) is None
    assert make_message_writer(None, None, list[ItemStruct]) is None
    assert make_message_writer(None, None, ItemModel) is None


@pytest.mark.parametrize("result", ["hello", {"a": [1, 2]}, [1, 2, 3]])
def test_head_of_a_common_result_has_its_length_and_no_body(result: Any) -> None:
    app = App()

    @app.get("/")
    def handler() -> Any:
        return result

    with TestClient(app) as client:
        got, head = client.get("/"), client.head("/")
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(got.content))
    assert head.headers["content-type"] == got.headers["content-type"]


def test_a_declared_struct_filters_dicts_and_passes_its_own_values() -> None:
    app = App()

    @app.get("/struct")
    def as_struct() -> ItemStruct:
        return ItemStruct("pen", 1.5)

    @app.get("/dict")
    def as_dict() -> ItemStruct:
        return {"name": "pen", "price": 1.5, "secret": "x"}  # type: ignore[return-value]

    with TestClient(app) as client:
        assert client.get("/struct").json() == {"name": "pen", "price": 1.5}
        assert client.get("/dict").json() == {"name": "pen", "price": 1.5}
