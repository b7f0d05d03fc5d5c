"""Path, query, header and cookie parameters: sources, markers, types and constraints."""

from __future__ import annotations

import datetime
import decimal
import enum
import functools
import uuid
from typing import Annotated, Any, Literal

import msgspec
import pytest

from plait import App, Cookie, Header, Path, Query
from plait.testing import TestClient


def errors_of(response: Any) -> list[dict[str, Any]]:
    """The ``errors`` of a 422 problem document, after checking it is one."""
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422
    assert problem["title"] == "Validation Error"
    errors: list[dict[str, Any]] = problem["errors"]
    return errors


def locs(response: Any) -> list[list[Any]]:
    return [error["loc"] for error in errors_of(response)]


# ------------------------------------------------------------------ path


def test_path_params_by_name_are_converted_from_the_annotation() -> None:
    app = App()

    @app.get("/items/{item_id}/{slug}")
    async def item(item_id: int, slug: str) -> dict[str, Any]:
        return {"item_id": item_id, "slug": slug}

    with TestClient(app) as client:
        assert client.get("/items/42/hat").json() == {"item_id": 42, "slug": "hat"}
        response = client.get("/items/forty-two/hat")
        [error] = errors_of(response)
        assert error["loc"] == ["path", "item_id"]
        assert error["type"] == "invalid"
        assert "int" in error["msg"]


def test_path_convertor_and_typed_uuid() -> None:
    app = App()

    @app.get("/orders/{number:int}/{ref}")
    async def order(number: int, ref: uuid.UUID) -> list[Any]:
        return [number, type(number).__name__, str(ref), type(ref).__name__]

    ref = uuid.UUID(int=7)
    with TestClient(app) as client:
        assert client.get(f"/orders/3/{ref}").json() == [3, "int", str(ref), "UUID"]
        assert client.get("/orders/x/abc").status_code == 404  # the int convertor never matches
        assert locs(client.get("/orders/3/not-a-uuid")) == [["path", "ref"]]


def test_path_marker_constraints() -> None:
    app = App()

    @app.get("/pages/{page}")
    async def page(page: Annotated[int, Path(ge=1, le=50, description="Page number")]) -> int:
        return page

    with TestClient(app) as client:
        assert client.get("/pages/50").json() == 50
        [error] = errors_of(client.get("/pages/0"))
        assert error["loc"] == ["path", "page"]
        assert ">= 1" in error["msg"]
        assert errors_of(client.get("/pages/51"))[0]["loc"] == ["path", "page"]


# ------------------------------------------------------------------ query


def test_issue_example_item_endpoint() -> None:
    app = App()

    @app.get("/items/{item_id}")
    async def get_item(
        item_id: int,
        q: str | None = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
        user_agent: Annotated[str | None, Header()] = None,
    ) -> dict[str, Any]:
        return {"item_id": item_id, "q": q, "limit": limit, "user_agent": user_agent}

    with TestClient(app) as client:
        response = client.get("/items/5", headers={"user-agent": "curl/8"})
        assert response.json() == {"item_id": 5, "q": None, "limit": 10, "user_agent": "curl/8"}
        assert client.get("/items/5?q=hat&limit=100").json()["limit"] == 100
        response = client.get("/items/x?limit=101")
        assert locs(response) == [["path", "item_id"], ["query", "limit"]]
        problem = response.json()
        assert "path.item_id" in problem["detail"]
        assert "query.limit" in problem["detail"]


def test_query_defaults_optional_and_required() -> None:
    app = App()

    @app.get("/search")
    async def search(q: str, page: int = 1, sort: str | None = None) -> list[Any]:
        return [q, page, sort]

    with TestClient(app) as client:
        assert client.get("/search?q=a").json() == ["a", 1, None]
        assert client.get("/search?q=a&page=3&sort=new").json() == ["a", 3, "new"]
        [error] = errors_of(client.get("/search"))
        assert error == {"loc": ["query", "q"], "msg": "Field required", "type": "missing"}


def test_query_alias_and_marker_default() -> None:
    app = App()

    @app.get("/list")
    async def listing(
        per_page: Annotated[int, Query(25, alias="per-page")],
        order: Annotated[str, Query(alias="order-by")] = "id",
    ) -> list[Any]:
        return [per_page, order]

    with TestClient(app) as client:
        assert client.get("/list").json() == [25, "id"]
        assert client.get("/list?per-page=5&order-by=name").json() == [5, "name"]
        assert client.get("/list?per_page=5&order=name").json() == [25, "id"]
        assert locs(client.get("/list?per-page=x")) == [["query", "per-page"]]


def test_marker_as_parameter_default() -> None:
    app = App()

    @app.get("/old-style")
    async def old_style(limit: int = Query(7, le=10)) -> int:  # type: ignore[assignment]
        return limit

    with TestClient(app) as client:
        assert client.get("/old-style").json() == 7
        assert client.get("/old-style?limit=9").json() == 9
        assert locs(client.get("/old-style?limit=11")) == [["query", "limit"]]


def test_docs_only_marker_options_do_not_change_binding() -> None:
    app = App()

    @app.get("/documented")
    async def documented(
        q: Annotated[
            str,
            Query(
                title="Query",
                description="What to look for",
                examples=["hat"],
                deprecated=True,
                include_in_schema=False,
            ),
        ] = "any",
    ) -> str:
        return q

    with TestClient(app) as client:
        assert client.get("/documented?q=hat").text == "hat"
        assert client.get("/documented").text == "any"


@pytest.mark.parametrize(
    ("marker", "good", "bad", "message"),
    [
        (Query(ge=2), "2", "1", ">= 2"),
        (Query(gt=2), "3", "2", ">= 3"),  # msgspec states gt on ints as ge
        (Query(le=5), "5", "6", "<= 5"),
        (Query(lt=5), "4", "5", "<= 4"),
        (Query(multiple_of=3), "9", "10", "multiple of 3"),
    ],
)
def test_numeric_constraints(marker: Query, good: str, bad: str, message: str) -> None:
    app = App()

    async def number(n: int) -> int:
        return n

    # Annotations are strings here (PEP 563): a local like ``marker`` is set directly.
    number.__annotations__["n"] = Annotated[int, marker]
    app.get("/n")(number)

    with TestClient(app) as client:
        assert client.get(f"/n?n={good}").json() == int(good)
        [error] = errors_of(client.get(f"/n?n={bad}"))
        assert error["loc"] == ["query", "n"]
        assert message in error["msg"]


@pytest.mark.parametrize(
    ("marker", "good", "bad", "message"),
    [
        (Query(min_length=3), "abc", "ab", "length >= 3"),
        (Query(max_length=3), "abc", "abcd", "length <= 3"),
        (Query(pattern="^[a-z]+$"), "abc", "ab1", "^[a-z]+$"),
    ],
)
def test_string_constraints(marker: Query, good: str, bad: str, message: str) -> None:
    app = App()

    async def text(s: str) -> str:
        return s

    text.__annotations__["s"] = Annotated[str, marker]
    app.get("/s")(text)

    with TestClient(app) as client:
        assert client.get(f"/s?s={good}").text == good
        [error] = errors_of(client.get(f"/s?s={bad}"))
        assert error["loc"] == ["query", "s"]
        assert message in error["msg"]


def test_float_constraints_and_length_of_lists() -> None:
    app = App()

    @app.get("/f")
    async def floats(
        ratio: Annotated[float, Query(gt=0, lt=1)],
        tag: Annotated[list[str], Query(min_length=1, max_length=2)],
    ) -> list[Any]:
        return [ratio, tag]

    with TestClient(app) as client:
        assert client.get("/f?ratio=0.5&tag=a&tag=b").json() == [0.5, ["a", "b"]]
        response = client.get("/f?ratio=1.0&tag=a&tag=b&tag=c")
        assert locs(response) == [["query", "ratio"], ["query", "tag"]]
        assert "length <= 2" in errors_of(response)[1]["msg"]


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


SCALARS: list[tuple[Any, str, Any]] = [
    (str, "hello", "hello"),
    (int, "-12", -12),
    (float, "2.5", 2.5),
    (bool, "true", True),
    (bool, "false", False),
    (bool, "1", True),
    (bool, "0", False),
    (bytes, "aGVsbG8=", "hello"),
    (decimal.Decimal, "1.10", "1.10"),
    (uuid.UUID, "12345678-1234-5678-1234-567812345678", "12345678-1234-5678-1234-567812345678"),
    (datetime.datetime, "2024-05-06T07:08:09+00:00", "2024-05-06T07:08:09+00:00"),
    (datetime.date, "2024-05-06", "2024-05-06"),
    (datetime.time, "07:08:09", "07:08:09"),
    (datetime.timedelta, "PT1M", 60.0),
    (Color, "blue", "blue"),
    (Level, "2", 2),
    (Literal["asc", "desc"], "desc", "desc"),
    (int | None, "3", 3),
]


def _plain(value: Any) -> Any:
    """Make the handler's value comparable as JSON (bytes, Decimal, timedelta...)."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, enum.Enum):
        return value.value
    return value


@pytest.mark.parametrize(("annotation", "raw", "expected"), SCALARS)
def test_scalar_types_from_the_query_string(annotation: Any, raw: str, expected: Any) -> None:
    app = App()

    async def handler(value: Any) -> dict[str, Any]:
        return {"value": _plain(value), "type": type(value).__name__}

    handler.__annotations__["value"] = annotation
    app.get("/v")(handler)
    with TestClient(app) as client:
        body = client.get("/v", params={"value": raw}).json()
        assert body["value"] == expected
        base = annotation
        if annotation == int | None:
            base = int
        if isinstance(base, type):
            assert body["type"] == base.__name__


BAD_SCALARS: list[tuple[Any, str, str]] = [
    (int, "1.5", "int"),
    (float, "abc", "float"),
    (bool, "maybe", "bool"),
    (bytes, "!!", "base64"),
    (decimal.Decimal, "ten", "decimal"),
    (uuid.UUID, "123", "UUID"),
    (datetime.datetime, "yesterday", "datetime"),
    (datetime.date, "2024-13-01", "date"),
    (datetime.time, "25:00", "time"),
    (Color, "green", "enum"),
    (Level, "3", "enum"),
    (Literal["asc", "desc"], "up", "enum"),
    (int | None, "x", "int"),
]


@pytest.mark.parametrize(("annotation", "raw", "hint"), BAD_SCALARS)
def test_bad_scalar_is_a_located_422(annotation: Any, raw: str, hint: str) -> None:
    app = App()

    async def handler(value: Any) -> str:
        return "unreachable"

    handler.__annotations__["value"] = annotation
    app.get("/v")(handler)
    with TestClient(app) as client:
        [error] = errors_of(client.get("/v", params={"value": raw}))
        assert error["loc"] == ["query", "value"]
        assert error["type"] == "invalid"
        assert hint.lower() in error["msg"].lower()


def test_list_set_and_tuple_query_params() -> None:
    app = App()

    @app.get("/filter")
    async def filtering(
        tag: list[str] = [],  # noqa: B006 - plait copies mutable defaults per request
        ids: set[int] | None = None,
        pair: tuple[int, ...] = (),
    ) -> dict[str, Any]:
        tag.append("seen")
        return {"tag": tag, "ids": sorted(ids) if ids else None, "pair": list(pair)}

    with TestClient(app) as client:
        response = client.get("/filter?tag=a&tag=b&ids=3&ids=1&ids=3&pair=1&pair=2")
        assert response.json() == {"tag": ["a", "b", "seen"], "ids": [1, 3], "pair": [1, 2]}
        # The default list is a fresh copy each time: the append above did not leak.
        assert client.get("/filter").json() == {"tag": ["seen"], "ids": None, "pair": []}
        assert client.get("/filter").json()["tag"] == ["seen"]
        [error] = errors_of(client.get("/filter?ids=1&ids=two&ids=3"))
        assert error["loc"] == ["query", "ids", 1]


def test_required_list_query_param() -> None:
    app = App()

    @app.get("/need")
    async def need(tag: list[int]) -> list[int]:
        return tag

    with TestClient(app) as client:
        assert client.get("/need?tag=1").json() == [1]
        assert errors_of(client.get("/need"))[0] == {
            "loc": ["query", "tag"],
            "msg": "Field required",
            "type": "missing",
        }


# ------------------------------------------------------------------ headers and cookies


def test_header_underscores_become_dashes_case_insensitively() -> None:
    app = App()

    @app.get("/h")
    async def headers(
        user_agent: Annotated[str, Header()],
        x_request_count: Annotated[int, Header(ge=0)] = 0,
    ) -> list[Any]:
        return [user_agent, x_request_count]

    with TestClient(app) as client:
        response = client.get("/h", headers={"User-Agent": "ua", "X-Request-Count": "4"})
        assert response.json() == ["ua", 4]
        response = client.get("/h", headers={"user-agent": "ua", "x-request-count": "-1"})
        assert locs(response) == [["header", "x-request-count"]]


def test_header_without_conversion_alias_and_lists() -> None:
    app = App()

    @app.get("/h")
    async def headers(
        x_raw: Annotated[str | None, Header(convert_underscores=False)] = None,
        token: Annotated[str | None, Header(alias="X-Auth-Token")] = None,
        x_forwarded_for: Annotated[list[str], Header()] = [],  # noqa: B006
    ) -> dict[str, Any]:
        return {"raw": x_raw, "token": token, "forwarded": x_forwarded_for}

    with TestClient(app) as client:
        response = client.get(
            "/h",
            headers=[
                ("x_raw", "underscored"),
                ("x-raw", "dashed"),
                ("x-auth-token", "t0k"),
                ("x-forwarded-for", "10.0.0.1"),
                ("x-forwarded-for", "10.0.0.2"),
            ],
        )
        assert response.json() == {
            "raw": "underscored",
            "token": "t0k",
            "forwarded": ["10.0.0.1", "10.0.0.2"],
        }
        assert client.get("/h").json() == {"raw": None, "token": None, "forwarded": []}


def test_missing_required_header_is_located() -> None:
    app = App()

    @app.get("/secret")
    async def secret(x_token: Annotated[str, Header()]) -> str:
        return x_token

    with TestClient(app) as client:
        assert client.get("/secret", headers={"x-token": "s"}).text == "s"
        assert errors_of(client.get("/secret")) == [
            {"loc": ["header", "x-token"], "msg": "Field required", "type": "missing"}
        ]


def test_cookies_typed_with_alias_and_default() -> None:
    app = App()

    @app.get("/c")
    async def cookies(
        session_id: Annotated[str, Cookie()],
        visits: Annotated[int, Cookie(ge=0)] = 0,
        theme: Annotated[str, Cookie(alias="ui-theme")] = "light",
    ) -> list[Any]:
        return [session_id, visits, theme]

    with TestClient(app) as client:
        client.cookies.set("session_id", "abc")
        assert client.get("/c").json() == ["abc", 0, "light"]
        client.cookies.set("visits", "3")
        client.cookies.set("ui-theme", "dark")
        assert client.get("/c").json() == ["abc", 3, "dark"]
        client.cookies.set("visits", "many")
        assert locs(client.get("/c")) == [["cookie", "visits"]]
        client.cookies.clear()
        assert errors_of(client.get("/c"))[0]["loc"] == ["cookie", "session_id"]


def test_every_invalid_parameter_is_reported_at_once() -> None:
    app = App()

    @app.get("/all/{n}")
    async def everything(
        n: int,
        q: Annotated[str, Query(min_length=2)],
        x_count: Annotated[int, Header()],
        flavour: Annotated[Literal["a", "b"], Cookie()],
    ) -> str:
        return "unreachable"

    with TestClient(app) as client:
        client.cookies.set("flavour", "c")
        response = client.get("/all/x?q=z", headers={"x-count": "many"})
        assert locs(response) == [
            ["path", "n"],
            ["query", "q"],
            ["header", "x-count"],
            ["cookie", "flavour"],
        ]


def test_sync_handler_parameters() -> None:
    app = App()

    @app.get("/sync/{n}")
    def sync(n: int, factor: float = 2.0) -> float:
        return n * factor

    with TestClient(app) as client:
        assert client.get("/sync/3").json() == 6.0
        assert locs(client.get("/sync/3?factor=x")) == [["query", "factor"]]


def test_ellipsis_means_required_as_in_fastapi() -> None:
    app = App()

    @app.get("/legacy")
    async def legacy(
        q: str = Query(...),  # type: ignore[assignment]
        n: Annotated[int, Query(ge=0)] = ...,  # type: ignore[assignment]
    ) -> list[Any]:
        return [q, n]

    with TestClient(app) as client:
        assert client.get("/legacy?q=a&n=1").json() == ["a", 1]
        assert errors_of(client.get("/legacy")) == [
            {"loc": ["query", "q"], "msg": "Field required", "type": "missing"},
            {"loc": ["query", "n"], "msg": "Field required", "type": "missing"},
        ]


def test_constraints_on_optional_parameters_apply_to_the_value() -> None:
    app = App()

    @app.get("/opt")
    async def optional(
        slug: Annotated[str | None, Query(pattern=r"^[a-z]+$", max_length=5)] = None,
        n: Annotated[int | None, Query(ge=1)] = None,
        tags: Annotated[list[str] | None, Query(max_length=2)] = None,
        x_id: Annotated[Annotated[str, msgspec.Meta(min_length=2)] | None, Header()] = None,
    ) -> list[Any]:
        return [slug, n, tags, x_id]

    with TestClient(app) as client:
        assert client.get("/opt").json() == [None, None, None, None]
        response = client.get("/opt?slug=abc&n=2&tags=a", headers={"x-id": "ab"})
        assert response.json() == ["abc", 2, ["a"], "ab"]
        response = client.get("/opt?slug=ABC&n=0&tags=a&tags=b&tags=c", headers={"x-id": "a"})
        assert locs(response) == [
            ["query", "slug"],
            ["query", "n"],
            ["query", "tags"],
            ["header", "x-id"],
        ]


# ------------------------------------------------------------------ how handlers are called


def test_a_repeated_query_key_gives_its_last_value_and_blank_pairs_are_ignored() -> None:
    app = App()

    @app.get("/search")
    async def search(q: str, page: int = 1, empty: str = "default") -> dict[str, Any]:
        return {"q": q, "page": page, "empty": empty}

    with TestClient(app) as client:
        plain = client.get("/search?q=a&&q=b&page=2&empty=")
        quoted = client.get("/search?q=caf%C3%A9+au+lait&page=3")
    assert plain.json() == {"q": "b", "page": 2, "empty": ""}
    assert quoted.json() == {"q": "café au lait", "page": 3, "empty": "default"}


def test_a_decorated_handler_whose_wrapper_takes_keywords_gets_keywords() -> None:
    app = App()

    def keywords_only(func: Any) -> Any:
        @functools.wraps(func)
        async def wrapper(**kwargs: Any) -> Any:
            return {"wrapped": True, **(await func(**kwargs))}

        return wrapper

    @app.get("/items/{item_id}")
    @keywords_only
    async def item(item_id: int, q: str = "x") -> dict[str, Any]:
        return {"item_id": item_id, "q": q}

    @app.get("/positional/{a}/{b}")
    async def positional(b: str, a: int, /, c: int = 0) -> dict[str, Any]:
        return {"a": a, "b": b, "c": c}

    with TestClient(app) as client:
        assert client.get("/items/7?q=y").json() == {"wrapped": True, "item_id": 7, "q": "y"}
        assert client.get("/positional/1/two?c=3").json() == {"a": 1, "b": "two", "c": 3}
        assert locs(client.get("/items/seven")) == [["path", "item_id"]]


@pytest.mark.parametrize(
    "raw",
    ["0", "42", "999999999999999999", "1000000000000000000", "9223372036854775807", "-5"],
)
def test_unbounded_int_parameters_read_as_msgspec_reads_them(raw: str) -> None:
    """The short-digits fast path (no bounds to compare) gives what msgspec gives."""
    app = App()

    @app.get("/items/{item_id}")
    async def item(item_id: int, limit: int = 0) -> dict[str, int]:
        return {"item_id": item_id, "limit": limit}

    expected = msgspec.convert(raw, int, strict=False)
    with TestClient(app) as client:
        assert client.get(f"/items/{raw}").json() == {"item_id": expected, "limit": 0}
        assert client.get(f"/items/1?limit={raw}").json() == {"item_id": 1, "limit": expected}
        assert client.get("/items/\u0663").status_code == 422  # a non-ASCII digit
