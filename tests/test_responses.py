"""Response classes: bodies, headers, cookies, redirects, streaming, HEAD, background work."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import pytest

from plait import (
    App,
    BackgroundTask,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Request,
    Response,
    StreamingResponse,
)
from plait.testing import TestClient
from plait.types import Message


def _serve(
    response: Response, method: str = "GET"
) -> tuple[int, list[tuple[bytes, bytes]], list[Message]]:
    """Send ``response`` as an ASGI app and collect what it sent."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(response({"type": "http", "method": method}, receive, send))
    return sent[0]["status"], sent[0]["headers"], sent[1:]


# ------------------------------------------------------------------ Response


def test_response_with_str_bytes_and_none() -> None:
    assert Response("é").body == "é".encode()
    assert Response(b"\x00").body == b"\x00"
    assert Response(bytearray(b"ab")).body == b"ab"
    assert Response(memoryview(b"cd")).body == b"cd"
    assert Response().body == b""
    with pytest.raises(TypeError, match="Response takes str or bytes content, not dict"):
        Response({"a": 1})


def test_response_headers_content_length_and_type() -> None:
    response = Response("hi", status_code=201, headers={"X-A": "1"}, media_type="text/csv")
    assert response.status_code == 201
    assert response.raw_headers == [
        (b"x-a", b"1"),
        (b"content-length", b"2"),
        (b"content-type", b"text/csv; charset=utf-8"),
    ]
    assert response.headers["content-type"] == "text/csv; charset=utf-8"


def test_charset_is_only_added_to_text_types_without_one() -> None:
    assert Response("x", media_type="application/xml").headers["content-type"] == (
        "application/xml"
    )
    assert Response("x", media_type="text/plain; charset=latin-1").headers["content-type"] == (
        "text/plain; charset=latin-1"
    )
    assert "content-type" not in Response("x").headers


def test_explicit_content_length_and_type_are_kept() -> None:
    response = Response("abc", headers={"Content-Length": "99", "Content-Type": "x/y"})
    assert response.headers.getlist("content-length") == ["99"]
    assert response.headers.getlist("content-type") == ["x/y"]


@pytest.mark.parametrize("status", [204, 304, 101])
def test_no_body_statuses_get_no_length_or_type(status: int) -> None:
    response = PlainTextResponse(status_code=status)
    assert response.raw_headers == []


def test_headers_view_mutates_the_response() -> None:
    response = Response("x")
    response.headers["x-added"] = "1"
    assert (b"x-added", b"1") in response.raw_headers


def test_response_is_an_asgi_app_and_head_drops_the_body() -> None:
    status, headers, messages = _serve(PlainTextResponse("hello"))
    assert status == 200
    assert (b"content-length", b"5") in headers
    assert messages == [{"type": "http.response.body", "body": b"hello"}]
    _, headers, messages = _serve(PlainTextResponse("hello"), method="HEAD")
    assert (b"content-length", b"5") in headers
    assert messages == [{"type": "http.response.body", "body": b""}]


def test_repr() -> None:
    assert repr(HTMLResponse("x", status_code=418)) == "<HTMLResponse status_code=418>"


@pytest.mark.parametrize(
    ("cls", "content_type"),
    [
        (PlainTextResponse, "text/plain; charset=utf-8"),
        (HTMLResponse, "text/html; charset=utf-8"),
        (JSONResponse, "application/json"),
    ],
)
def test_media_types_through_the_app(cls: type[Response], content_type: str) -> None:
    app = App()

    @app.get("/")
    def index() -> Response:
        return cls("<b>é</b>", status_code=202)

    with TestClient(app) as client:
        response = client.get("/")
    assert response.status_code == 202
    assert response.headers["content-type"] == content_type
    expected = b'"<b>\xc3\xa9</b>"' if cls is JSONResponse else "<b>é</b>".encode()
    assert response.content == expected


@dataclass
class Point:
    x: int
    y: int


def test_json_response_encodes_with_msgspec() -> None:
    when = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    response = JSONResponse({"p": Point(1, 2), "when": when, "n": None, "list": [1.5]})
    assert response.body == (
        b'{"p":{"x":1,"y":2},"when":"2024-01-02T03:04:05Z","n":null,"list":[1.5]}'
    )
    with pytest.raises(TypeError):
        JSONResponse(object())


# ------------------------------------------------------------------ cookies


def test_set_cookie_defaults_are_safe() -> None:
    response = Response()
    response.set_cookie("session", "abc")
    assert response.headers.getlist("set-cookie") == ["session=abc; HttpOnly; Path=/; SameSite=lax"]


def test_set_cookie_with_every_option() -> None:
    response = Response()
    response.set_cookie(
        "k",
        "v",
        max_age=60,
        expires=datetime(2030, 1, 1, tzinfo=UTC),
        path="/app",
        domain="example.com",
        secure=True,
        httponly=False,
        samesite="strict",
    )
    (header,) = response.headers.getlist("set-cookie")
    parts = header.split("; ")
    assert parts[0] == "k=v"
    assert set(parts[1:]) == {
        "expires=Tue, 01 Jan 2030 00:00:00 GMT",
        "Max-Age=60",
        "Path=/app",
        "Domain=example.com",
        "Secure",
        "SameSite=strict",
    }


def test_set_cookie_expires_as_seconds_and_as_a_string() -> None:
    response = Response()
    response.set_cookie("a", expires=3600)
    response.set_cookie("b", expires="Wed, 21 Oct 2015 07:28:00 GMT")
    first, second = response.headers.getlist("set-cookie")
    expires = parsedate_to_datetime(first.split("expires=")[1].split(";")[0])
    assert abs(expires.timestamp() - (time.time() + 3600)) < 5
    assert "expires=Wed, 21 Oct 2015 07:28:00 GMT" in second


def test_samesite_none_forces_secure_and_none_drops_the_attribute() -> None:
    response = Response()
    response.set_cookie("a", "1", samesite="none")
    response.set_cookie("b", "2", samesite=None, path=None)
    first, second = response.headers.getlist("set-cookie")
    assert "SameSite=none" in first
    assert "Secure" in first
    assert second == "b=2; HttpOnly"


def test_partitioned_cookie() -> None:
    response = Response()
    response.set_cookie("chip", "1", partitioned=True)
    (header,) = response.headers.getlist("set-cookie")
    assert header.endswith("; Partitioned")
    assert "Secure" in header


def test_invalid_samesite_is_refused() -> None:
    with pytest.raises(ValueError, match="samesite must be"):
        Response().set_cookie("a", samesite="Lax")  # type: ignore[arg-type]


def test_cookie_values_that_need_quoting() -> None:
    response = Response()
    response.set_cookie("a", "x y;z")
    assert response.headers.getlist("set-cookie")[0].startswith('a="x y\\073z"')


def test_delete_cookie_expires_it_now() -> None:
    response = Response()
    response.delete_cookie("session", path="/app", domain="example.com")
    (header,) = response.headers.getlist("set-cookie")
    assert header.startswith('session=""; ')
    assert "Max-Age=0" in header
    assert "Path=/app" in header
    assert "Domain=example.com" in header
    expires = parsedate_to_datetime(header.split("expires=")[1].split(";")[0])
    assert expires.timestamp() <= time.time() + 1


def test_cookies_through_the_app_round_trip() -> None:
    app = App()

    @app.get("/login")
    def login() -> Response:
        response = RedirectResponse("/me", status_code=303)
        response.set_cookie("user", "ann")
        return response

    @app.get("/me")
    def me() -> PlainTextResponse:
        return PlainTextResponse("ok")

    @app.get("/logout")
    def logout() -> Response:
        response = PlainTextResponse("bye")
        response.delete_cookie("user")
        return response

    with TestClient(app, follow_redirects=False) as client:
        response = client.get("/login")
        assert response.status_code == 303
        assert client.cookies["user"] == "ann"
        client.get("/logout")
        assert "user" not in client.cookies


# ------------------------------------------------------------------ redirects


def test_redirect_response_defaults_to_307_and_quotes_the_location() -> None:
    response = RedirectResponse("/a path/ü?x=1&y=a b#frag")
    assert response.status_code == 307
    assert response.headers["location"] == "/a%20path/%C3%BC?x=1&y=a%20b#frag"
    assert response.headers["content-length"] == "0"


def test_redirect_keeps_already_encoded_and_absolute_urls() -> None:
    response = RedirectResponse("https://example.com/a%20b?q=%2F", status_code=301)
    assert response.headers["location"] == "https://example.com/a%20b?q=%2F"


def test_redirect_through_the_app_keeps_method_and_body() -> None:
    app = App()

    @app.post("/old")
    def old() -> RedirectResponse:
        return RedirectResponse("/new", headers={"x-moved": "yes"})

    @app.post("/new")
    async def new(request: Request) -> str:
        return "new got " + (await request.body()).decode()

    with TestClient(app, follow_redirects=False) as client:
        response = client.post("/old", content=b"data")
        assert response.status_code == 307
        assert response.headers["location"] == "/new"
        assert response.headers["x-moved"] == "yes"
    with TestClient(app) as client:
        assert client.post("/old", content=b"data").text == "new got data"


# ------------------------------------------------------------------ streaming


def test_streaming_from_an_async_iterable() -> None:
    async def numbers() -> AsyncIterator[str | bytes]:
        for i in range(3):
            yield f"{i},"
        yield b"end"

    status, headers, messages = _serve(StreamingResponse(numbers(), media_type="text/csv"))
    assert status == 200
    assert (b"content-type", b"text/csv; charset=utf-8") in headers
    assert not any(name == b"content-length" for name, _ in headers)
    assert [m["body"] for m in messages] == [b"0,", b"1,", b"2,", b"end", b""]
    assert [m["more_body"] for m in messages] == [True, True, True, True, False]


def test_streaming_from_a_sync_iterable_runs_it_in_a_thread() -> None:
    threads: list[threading.Thread] = []

    def lines() -> Iterator[str]:
        for word in ("a", "b"):
            threads.append(threading.current_thread())
            yield word

    _, _, messages = _serve(StreamingResponse(lines()))
    assert [m["body"] for m in messages] == [b"a", b"b", b""]
    assert all(thread is not threading.main_thread() for thread in threads)
    _, _, messages = _serve(StreamingResponse([b"x", "y"]))
    assert [m["body"] for m in messages] == [b"x", b"y", b""]


def test_streaming_head_sends_no_body_and_does_not_iterate() -> None:
    consumed: list[int] = []

    def body() -> Iterator[bytes]:
        consumed.append(1)
        yield b"x"

    _, _, messages = _serve(StreamingResponse(body()), method="HEAD")
    assert messages == [{"type": "http.response.body", "body": b"", "more_body": False}]
    assert consumed == []


def test_streaming_through_the_app() -> None:
    app = App()

    @app.get("/stream")
    def stream() -> StreamingResponse:
        return StreamingResponse(
            (f"line {i}\n" for i in range(3)), status_code=206, headers={"x-s": "1"}
        )

    with TestClient(app) as client:
        response = client.get("/stream")
    assert response.status_code == 206
    assert response.text == "line 0\nline 1\nline 2\n"
    assert response.headers["x-s"] == "1"


def test_error_in_a_stream_after_the_start_propagates() -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"partial"
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        _serve(StreamingResponse(broken()))


# ------------------------------------------------------------------ background


def test_response_background_runs_after_the_body_is_sent() -> None:
    order: list[str] = []

    async def after(label: str) -> None:
        order.append(label)

    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        order.append(message["type"])
        sent.append(message)

    for response in (
        Response("x", background=BackgroundTask(after, "plain")),
        StreamingResponse(iter([b"x"]), background=BackgroundTask(after, "stream")),
    ):
        asyncio.run(response({"type": "http", "method": "GET"}, receive, send))
    assert order == [
        "http.response.start",
        "http.response.body",
        "plain",
        "http.response.start",
        "http.response.body",
        "http.response.body",
        "stream",
    ]


def test_html_responses_carry_security_headers_by_default() -> None:
    """Issue 12 finding 8: ordinary pages (a login form) could be framed."""
    from plait.middleware import SecurityHeadersMiddleware

    def make() -> App:
        app = App()

        @app.get("/page")
        async def page() -> HTMLResponse:
            return HTMLResponse("<form>log in</form>")

        @app.get("/framable")
        async def framable() -> HTMLResponse:
            return HTMLResponse("<p>embed me</p>", headers={"X-Frame-Options": "SAMEORIGIN"})

        @app.get("/data")
        async def data() -> dict[str, bool]:
            return {"ok": True}

        @app.get("/text")
        async def text() -> str:
            return "plain"

        return app

    with TestClient(make()) as client:
        page = client.get("/page")
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "same-origin"
        assert client.get("/framable").headers["x-frame-options"] == "SAMEORIGIN"
        for path in ("/data", "/text"):
            assert "x-frame-options" not in client.get(path).headers
    tuned = make()
    tuned.add_middleware(
        SecurityHeadersMiddleware, frame_options="SAMEORIGIN", referrer_policy=None
    )
    with TestClient(tuned) as client:
        page = client.get("/page")
        assert page.headers["x-frame-options"] == "SAMEORIGIN"
        assert "referrer-policy" not in page.headers
        assert page.headers["x-content-type-options"] == "nosniff"
        assert client.get("/framable").headers["x-frame-options"] == "SAMEORIGIN"
        assert page.headers.get_list("x-frame-options") == ["SAMEORIGIN"]


def test_the_server_header_setting_blanks_it_in_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 12 finding 8: ``PLAIT_SERVER_HEADER=0`` gives every response an empty ``Server``
    header, which granian (no option of its own) sends instead of ``server: granian``; one
    a handler set stays."""
    monkeypatch.setenv("PLAIT_SERVER_HEADER", "0")
    app = App()

    @app.get("/")
    async def index() -> str:
        return "hi"

    @app.get("/own")
    async def own() -> Response:
        return Response("hi", headers={"Server": "mine"})

    with TestClient(app) as client:
        assert client.get("/").headers.get_list("server") == [""]
        assert client.get("/missing").headers.get_list("server") == [""]
        assert client.get("/own").headers.get_list("server") == ["mine"]
    monkeypatch.delenv("PLAIT_SERVER_HEADER")
    with TestClient(App()) as client:
        assert "server" not in client.get("/missing").headers
