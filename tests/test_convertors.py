"""Path convertors: built-ins both ways, and user-defined ones through the public API."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

from plait import App, Convertor, register_convertor
from plait._convertors import CONVERTORS
from plait.testing import TestClient

SOME_UUID = uuid.UUID(int=0x12345678123456781234567812345678)
OTHER_UUID = uuid.UUID("abcdefab-1234-5678-1234-567812345678")


def test_builtin_convertors_are_registered() -> None:
    assert {"str", "int", "float", "uuid", "path"} <= set(CONVERTORS)


@pytest.mark.parametrize(
    ("name", "raw", "value"),
    [
        ("str", "hello", "hello"),
        ("str", "with space", "with space"),
        ("int", "0", 0),
        ("int", "0042", 42),
        ("float", "1.5", 1.5),
        ("float", "3", 3.0),
        ("uuid", "12345678-1234-5678-1234-567812345678", SOME_UUID),
        ("uuid", "12345678123456781234567812345678", SOME_UUID),
        ("uuid", "ABCDEFAB-1234-5678-1234-567812345678", OTHER_UUID),
        ("path", "a/b/c.txt", "a/b/c.txt"),
        ("path", "", ""),
    ],
)  # fmt: skip
def test_convert_accepts(name: str, raw: str, value: Any) -> None:
    assert CONVERTORS[name].convert(raw) == value


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("str", ""),
        ("int", ""),
        ("int", "-1"),
        ("int", "+1"),
        ("int", "1.0"),
        ("int", "x"),
        ("int", "١٢"),  # non-ASCII digits
        ("int", "1_000"),
        ("float", "-1.5"),
        ("float", "1.2.3"),
        ("float", "nan"),
        ("float", "inf"),
        ("float", "1e5"),
        ("uuid", "not-a-uuid"),
        ("uuid", "12345678-1234-5678-1234-56781234567"),
        ("uuid", "1234567812345678123456781234567g"),
        ("uuid", "0123456789abcdef0123456789abcdef----"),  # hyphens in the wrong places
        ("uuid", "123456781234567812345678123_5678"),  # int() would accept the underscore
        ("uuid", "+2345678123456781234567812345678"),
        ("uuid", "{2345678123456781234567812345678}"),
    ],
)
def test_convert_refuses(name: str, raw: str) -> None:
    with pytest.raises(ValueError):
        CONVERTORS[name].convert(raw)


def test_to_string_round_trips() -> None:
    some = uuid.uuid4()
    assert CONVERTORS["int"].to_string(7) == "7"
    assert CONVERTORS["float"].to_string(2) == "2.0"
    assert CONVERTORS["float"].to_string(0.25) == "0.25"
    assert CONVERTORS["uuid"].to_string(some) == str(some)
    assert CONVERTORS["str"].to_string("abc") == "abc"
    assert CONVERTORS["path"].to_string("a/b") == "a/b"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("int", -3),
        ("float", -0.5),
        ("float", float("inf")),
        ("float", float("nan")),
        ("str", ""),
        ("str", "a/b"),
    ],
)
def test_to_string_refuses_values_that_would_not_match(name: str, value: Any) -> None:
    with pytest.raises(ValueError):
        CONVERTORS[name].to_string(value)


def test_priorities_order_specific_before_general() -> None:
    order = sorted(CONVERTORS, key=lambda name: CONVERTORS[name].priority)
    assert order[:5] == ["int", "uuid", "float", "str", "path"]


def test_base_convertor_must_be_subclassed() -> None:
    with pytest.raises(NotImplementedError):
        Convertor().convert("x")
    assert Convertor().to_string(5) == "5"


def test_every_builtin_type_through_the_app() -> None:
    app = App()

    @app.get("/i/{v:int}")
    def as_int(v: int) -> dict[str, Any]:
        return {"v": v, "type": type(v).__name__}

    @app.get("/f/{v:float}")
    def as_float(v: float) -> dict[str, Any]:
        return {"v": v, "type": type(v).__name__}

    @app.get("/u/{v:uuid}")
    def as_uuid(v: uuid.UUID) -> dict[str, Any]:
        return {"v": str(v), "type": type(v).__name__}

    @app.get("/p/{v:path}")
    def as_path(v: str) -> dict[str, Any]:
        return {"v": v, "type": type(v).__name__}

    some = uuid.uuid4()
    with TestClient(app) as client:
        assert client.get("/i/5").json() == {"v": 5, "type": "int"}
        assert client.get("/f/2.5").json() == {"v": 2.5, "type": "float"}
        assert client.get(f"/u/{some}").json() == {"v": str(some), "type": "UUID"}
        assert client.get("/p/a/b/c").json() == {"v": "a/b/c", "type": "str"}
        assert client.get("/i/x").status_code == 404
        assert client.get("/f/x").status_code == 404
        assert client.get("/u/nope").status_code == 404


class DateConvertor(Convertor):
    regex = r"\d{4}-\d{2}-\d{2}"
    priority = 15
    python_type = date

    def convert(self, value: str) -> date:
        return date.fromisoformat(value)

    def to_string(self, value: Any) -> str:
        return str(value.isoformat())


def test_custom_convertor_matches_converts_and_reverses(restore_convertors: None) -> None:
    register_convertor("date", DateConvertor())
    app = App()

    @app.get("/events/{day:date}", name="events_on")
    def events_on(day: date) -> dict[str, Any]:
        return {"year": day.year, "weekday": day.isoweekday()}

    @app.get("/events/{slug}")
    def event(slug: str) -> dict[str, str]:
        return {"slug": slug}

    with TestClient(app) as client:
        assert client.get("/events/2024-02-29").json() == {"year": 2024, "weekday": 4}
        # A value the custom convertor refuses falls back to the str route.
        assert client.get("/events/2024-02-30").json() == {"slug": "2024-02-30"}
    assert app.url_path_for("events_on", day=date(2025, 1, 2)) == "/events/2025-01-02"


def test_register_convertor_needs_an_identifier(restore_convertors: None) -> None:
    with pytest.raises(ValueError, match="must be an identifier"):
        register_convertor("not valid", DateConvertor())
    assert "not valid" not in CONVERTORS


def test_unregistered_convertor_is_refused_with_the_known_list() -> None:
    app = App()
    with pytest.raises(ValueError, match=r"unknown convertor 'date' \(float, int, path, str"):
        app.get("/events/{day:date}")(lambda day: day)
