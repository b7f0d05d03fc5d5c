"""JSON bodies that cost the server too much (issue 12, findings 1 and 3).

Every error path of a JSON body is bounded: a body that fails validation costs a C-speed
decode or two, and the walk that lists its errors stops after ``MAX_ERRORS`` errors or
``MAX_WALK`` values, so a 10 MB body answers in well under a second of CPU. A document
nested deeper than ``MAX_DEPTH`` is a 400, not a ``RecursionError``.
"""

from __future__ import annotations

import logging
import time

import msgspec
import pytest

from plait import App, Request, WebSocket, WebSocketDisconnect
from plait.testing import TestClient


class Note(msgspec.Struct):
    title: str
    stars: int = 0


class Item(msgspec.Struct):
    a: int


class Point(msgspec.Struct):
    x: float
    n: int


JSON = {"content-type": "application/json"}


def make_app() -> App:
    app = App(max_body_size=16 * 1024 * 1024)

    @app.post("/notes")
    async def create(note: Note) -> dict[str, str]:
        return {"title": note.title}

    @app.post("/items")
    async def items(items: list[Item]) -> int:
        return len(items)

    @app.post("/points")
    async def points(points: list[Point]) -> list[int]:
        return [p.n for p in points]

    @app.post("/raw")
    async def raw(request: Request) -> str:
        return type(await request.json()).__name__

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_json(type(await websocket.receive_json()).__name__)

    return app


def cpu_seconds(client: TestClient, path: str, body: bytes) -> tuple[int, float, dict]:  # type: ignore[type-arg]
    # CPU time of this process (the app runs in-process): independent of other load.
    start = time.process_time()
    response = client.post(path, content=body, headers={"content-type": "application/json"})
    return response.status_code, time.process_time() - start, response.json()


def test_whole_number_floats_are_still_ints() -> None:
    with TestClient(make_app()) as client:
        assert client.post("/notes", json={"title": "t", "stars": 3.0}).json() == {"title": "t"}
        assert client.post("/items", json=[{"a": 1.0}, {"a": 2}]).json() == 2
        bad = client.post("/items", json=[{"a": 1.5}, {}])
        assert bad.status_code == 422
        assert [e["loc"] for e in bad.json()["errors"]] == [["body", 0, "a"], ["body", 1, "a"]]


def test_a_large_wrong_body_costs_a_bounded_time() -> None:
    """Finding 1: a 10 MB ``[{"a":1.0}, …]`` to an object endpoint took 4.25 s; a list of
    objects that each lack a required field, about 54 s for 10 MB.

    Every error path is a few C-speed passes: its CPU time is held to a small multiple of a
    *valid* 10 MB body's (a C-speed typed decode), measured in this process, so the bound
    holds on a loaded machine and under coverage (a Python call per value, as the float
    hook once was, costs 6x the valid body plainly and far more under a tracer).
    """
    valid = b"[" + b",".join([b'{"a":1}'] * 1_250_000) + b"]"  # 10 MB
    floats = b"[" + b",".join([b"1.0"] * 2_500_000) + b"]"  # 10 MB, 2.5 M floats
    objects = b"[" + b",".join([b'{"a":1.0}'] * 1_000_000) + b"]"  # 10 MB
    missing = b"[" + b",".join([b'{"b":1}'] * 1_200_000) + b"]"  # 10 MB
    with TestClient(make_app()) as client:
        status, baseline, _ = cpu_seconds(client, "/items", valid)
        assert status == 200
        limit = 4 * baseline + 0.25
        answers = []
        for path, body, expected in [
            ("/notes", floats, 422),  # the review's [{"a":1.0}, …] with 2.5 times the floats
            ("/items", missing, 422),
            ("/items", objects, 200),  # valid once made ints
        ]:
            status, seconds, answer = cpu_seconds(client, path, body)
            assert status == expected, answer
            assert seconds < limit, (path, len(body), seconds, baseline)
            answers.append(answer)
    errors = answers[1]["errors"]
    assert errors[0] == {"loc": ["body", 0, "a"], "msg": "Field required", "type": "missing"}
    assert len(errors) <= 101
    assert errors[-1]["type"] == "too_many_errors"
    assert answers[2] == 1_000_000


def test_the_integral_retry_is_bounded_when_floats_have_fractions() -> None:
    """Whole-number floats among floats with a fraction are made ints by a Python hook, for
    at most ``MAX_FRACTION_FLOATS`` floats: past that, a body valid only once made ints is
    refused with a 422 that says what to send; its other errors are still listed."""
    from plait._request import MAX_FRACTION_FLOATS

    def points(n: int, point: bytes = b'{"x":1.5,"n":2.0}') -> bytes:
        return b"[" + b",".join([point] * n) + b"]"

    with TestClient(make_app()) as client:
        small = client.post("/points", content=points(10), headers=JSON)
        assert small.status_code == 200, small.text
        assert small.json() == [2] * 10
        large = client.post("/points", content=points(MAX_FRACTION_FLOATS), headers=JSON)
        assert large.status_code == 422
        assert [e["type"] for e in large.json()["errors"]] == ["too_many_floats"]
        assert "send 3" in large.json()["errors"][0]["msg"]
        wrong = b'[{"x":1.5},' + points(MAX_FRACTION_FLOATS)[1:]
        errors = client.post("/points", content=wrong, headers=JSON).json()["errors"]
        assert errors[0] == {"loc": ["body", 0, "n"], "msg": "Field required", "type": "missing"}


@pytest.mark.parametrize("path", ["/notes", "/items", "/raw"])
def test_deeply_nested_json_is_a_400(path: str, caplog: pytest.LogCaptureFixture) -> None:
    """Finding 3: ``[`` x 800 then ``]`` x 800 raised RecursionError: a 500 and a 189 KB log
    entry."""
    caplog.set_level(logging.INFO)
    with TestClient(make_app()) as client:
        for depth in (1100, 5000, 100_000):
            body = b"[" * depth + b"]" * depth
            response = client.post(path, content=body, headers={"content-type": "application/json"})
            assert response.status_code == 400, (depth, response.text)
            assert "nested" in response.json()["detail"]
        assert sum(len(r.getMessage()) for r in caplog.records) < 2000
        # The documented depth is accepted.
        ok = b"[" * 256 + b"]" * 256
        assert (
            client.post("/raw", content=ok, headers={"content-type": "application/json"}).text
            == "list"
        )


def test_deeply_nested_json_over_a_websocket_closes_1007() -> None:
    with TestClient(make_app()) as client, client.websocket_connect("/ws") as websocket:
        websocket.send_text("[" * 5000 + "]" * 5000)
        with pytest.raises(WebSocketDisconnect) as closed:
            websocket.receive()
        assert closed.value.code == 1007
