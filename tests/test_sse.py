from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from plait import App, EventSourceResponse, ServerSentEvent
from plait.testing import TestClient
from plait.types import Message, Scope


def make_app(events: Any, **options: Any) -> App:
    app = App()

    @app.get("/events")
    def stream() -> EventSourceResponse:
        return EventSourceResponse(events(), **options)

    return app


def http_scope(method: str = "GET") -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": "/events",
        "raw_path": b"/events",
        "root_path": "",
        "query_string": b"",
        "headers": [],
    }


# -- the wire format


def test_headers_and_mixed_items() -> None:
    async def events() -> AsyncIterator[Any]:
        yield "hello"
        yield {"data": {"n": 1}, "event": "tick", "id": 7}
        yield ServerSentEvent("bye", event="end", retry=3000)

    with TestClient(make_app(events)) as client:
        response = client.get("/events")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    assert response.text == (
        'data: hello\n\nid: 7\nevent: tick\ndata: {"n":1}\n\nevent: end\ndata: bye\nretry: 3000\n\n'
    )


def test_sync_iterable() -> None:
    def events() -> Iterator[str]:
        yield "one"
        yield "two"

    with TestClient(make_app(events)) as client:
        assert client.get("/events").text == "data: one\n\ndata: two\n\n"


def test_bytes_items_are_events_already_encoded_and_sent_as_they_are() -> None:
    frame = b"event: room:1\ndata: {}\n\n"

    def events() -> Iterator[bytes]:
        yield frame
        yield frame

    with TestClient(make_app(events)) as client:
        assert client.get("/events").content == frame + frame


def test_async_iterable_that_is_not_a_generator() -> None:
    class Countdown:
        def __init__(self) -> None:
            self.left = 3

        def __aiter__(self) -> Countdown:
            return self

        async def __anext__(self) -> str:
            if not self.left:
                raise StopAsyncIteration
            self.left -= 1
            return str(self.left)

    app = App()

    @app.get("/events")
    def stream() -> EventSourceResponse:
        return EventSourceResponse(Countdown())

    with TestClient(app) as client:
        assert client.get("/events").text == "data: 2\n\ndata: 1\n\ndata: 0\n\n"


def test_user_headers_win() -> None:
    app = App()

    @app.get("/events")
    def stream() -> EventSourceResponse:
        return EventSourceResponse(iter(["x"]), headers={"Cache-Control": "no-store"})

    with TestClient(app) as client:
        assert client.get("/events").headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("event", "wire"),
    [
        (ServerSentEvent("a\nb\r\nc\rd"), "data: a\ndata: b\ndata: c\ndata: d\n\n"),
        (ServerSentEvent("trailing\n"), "data: trailing\ndata: \n\n"),
        (ServerSentEvent(""), "data: \n\n"),
        (ServerSentEvent([1, "two"]), 'data: [1,"two"]\n\n'),
        (ServerSentEvent({"text": "a\nb"}), 'data: {"text":"a\\nb"}\n\n'),
        (ServerSentEvent(comment="keep\nalive"), ": keep\n: alive\n\n"),
        (ServerSentEvent(id=""), "id: \n\n"),
        (ServerSentEvent(retry=0), "retry: 0\n\n"),
    ],
)
def test_encoding(event: ServerSentEvent, wire: str) -> None:
    assert event.encode() == wire.encode()


def test_multiline_str_item_is_split() -> None:
    async def events() -> AsyncIterator[str]:
        yield "line 1\nline 2"

    with TestClient(make_app(events)) as client:
        assert client.get("/events").text == "data: line 1\ndata: line 2\n\n"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"event": "a\nb"},
        {"event": "a\rb"},
        {"id": "1\n2"},
        {"id": "1\r"},
        {"id": "a\0b"},
        {"retry": -1},
        {"retry": "5"},
        {"retry": 1.5},
        {"retry": True},
    ],
)
def test_injection_and_bad_fields_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="SSE"):
        ServerSentEvent("x", **kwargs)


def test_dict_item_with_unknown_keys_is_refused() -> None:
    closed: list[bool] = []

    async def events() -> AsyncIterator[Any]:
        try:
            yield {"count": 1}
        finally:
            closed.append(True)

    with TestClient(make_app(events)) as client:
        with pytest.raises(TypeError, match="ServerSentEvent"):
            client.get("/events")
        assert closed == [True]  # the generator was closed, not left for the GC


def test_other_item_types_are_refused() -> None:
    async def events() -> AsyncIterator[Any]:
        yield 42

    with TestClient(make_app(events)) as client, pytest.raises(TypeError, match="int"):
        client.get("/events")


def test_event_equality_and_repr() -> None:
    assert ServerSentEvent("x", event="e") == ServerSentEvent("x", event="e")
    assert ServerSentEvent("x") != ServerSentEvent("y")
    assert ServerSentEvent("x") != "x"
    assert repr(ServerSentEvent("x", id="1")) == "ServerSentEvent(data='x', id='1')"


@pytest.mark.parametrize("ping", [0, -1.0])
def test_bad_ping_is_refused(ping: float) -> None:
    with pytest.raises(ValueError, match="ping"):
        EventSourceResponse(iter(()), ping=ping)


# -- pings


def test_pings_while_idle() -> None:
    async def events() -> AsyncIterator[str]:
        yield "first"
        await asyncio.sleep(0.25)
        yield "second"

    with TestClient(make_app(events, ping=0.05)) as client:
        text = client.get("/events").text
    assert text.startswith("data: first\n\n: ping\n\n")
    assert text.endswith(": ping\n\ndata: second\n\n")
    assert text.count(": ping\n\n") >= 2


def test_no_pings_when_disabled_or_busy() -> None:
    async def events() -> AsyncIterator[str]:
        await asyncio.sleep(0.1)
        yield "late"

    with TestClient(make_app(events, ping=None)) as client:
        assert client.get("/events").text == "data: late\n\n"

    async def fast() -> AsyncIterator[str]:
        for i in range(5):
            yield str(i)

    with TestClient(make_app(fast, ping=10)) as client:
        assert ": ping" not in client.get("/events").text


# -- HEAD, errors and disconnects


def test_head_does_not_iterate() -> None:
    started: list[bool] = []

    async def events() -> AsyncIterator[str]:
        started.append(True)
        yield "x"

    with TestClient(make_app(events)) as client:
        response = client.head("/events")
    assert response.status_code == 200
    assert response.content == b""
    assert started == []


def test_error_in_the_iterable_propagates() -> None:
    async def events() -> AsyncIterator[str]:
        yield "x"
        raise RuntimeError("boom")

    with TestClient(make_app(events)) as client, pytest.raises(RuntimeError, match="boom"):
        client.get("/events")


def run_until_disconnect(
    response: EventSourceResponse, *, after_bodies: int, watch: list[Any] | None = None
) -> tuple[list[Message], float, list[Any]]:
    """Drive ``response`` as a server would; the client leaves after ``after_bodies`` bodies.

    Returns what was sent, how long it took, and a copy of ``watch`` taken as soon as the
    response returned (before the event loop shuts down and finalises leftover generators).
    """
    sent: list[Message] = []
    seen: list[Any] = []

    async def scenario() -> float:
        gone = asyncio.Event()

        async def receive() -> Message:
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            sent.append(message)
            if sum(m["type"] == "http.response.body" for m in sent) >= after_bodies:
                gone.set()

        start = time.perf_counter()
        await asyncio.wait_for(response(http_scope(), receive, send), 5)
        seen.extend(watch or ())
        return time.perf_counter() - start

    elapsed = asyncio.run(scenario())
    return sent, elapsed, seen


def test_disconnect_cancels_a_waiting_generator() -> None:
    cleaned_up: list[str] = []

    async def events() -> AsyncIterator[str]:
        try:
            yield "hello"
            await asyncio.sleep(3600)  # waits for news that never come
            yield "never"
        finally:
            cleaned_up.append("finally")

    response = EventSourceResponse(events())
    sent, elapsed, seen = run_until_disconnect(response, after_bodies=1, watch=cleaned_up)
    assert seen == ["finally"]
    assert elapsed < 2
    bodies = [m["body"] for m in sent if m["type"] == "http.response.body"]
    assert bodies == [b"data: hello\n\n"]


def test_disconnect_stops_an_endless_generator() -> None:
    produced: list[int] = []
    closed: list[bool] = []

    async def events() -> AsyncIterator[str]:
        try:
            n = 0
            while True:
                produced.append(n)
                yield str(n)
                n += 1
                await asyncio.sleep(0.001)
        finally:
            closed.append(True)

    response = EventSourceResponse(events(), ping=None)
    sent, _, seen = run_until_disconnect(response, after_bodies=3, watch=closed)
    assert seen == [True]
    assert len(produced) < 10
    assert not any(m.get("more_body") is False for m in sent)


def test_disconnect_closes_a_sync_generator() -> None:
    closed: list[bool] = []

    def events() -> Iterator[str]:
        try:
            yield "a"
            yield "b"
            yield "c"
        finally:
            closed.append(True)

    response = EventSourceResponse(events())  # kept alive: garbage collection would close it
    _, _, seen = run_until_disconnect(response, after_bodies=1, watch=closed)
    assert seen == [True]


def test_disconnect_closes_a_generator_suspended_at_yield() -> None:
    closed: list[bool] = []

    async def events() -> AsyncIterator[str]:
        try:
            while True:
                yield "x"  # never awaits: always suspended at a yield when stopped
        finally:
            closed.append(True)

    response = EventSourceResponse(events(), ping=None)
    _, _, seen = run_until_disconnect(response, after_bodies=2, watch=closed)
    assert seen == [True]


def test_background_task_runs_after_stream() -> None:
    from plait import BackgroundTask

    calls: list[str] = []
    app = App()

    @app.get("/events")
    def stream() -> EventSourceResponse:
        return EventSourceResponse(iter(["x"]), background=BackgroundTask(calls.append, "done"))

    with TestClient(app) as client:
        assert client.get("/events").text == "data: x\n\n"
    assert calls == ["done"]
