"""The test clients: requests, lifespan, bare ASGI apps, protocol misuse, WebSocket sessions."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from plait import App, Request, Response, WebSocket, WebSocketDisconnect
from plait.testing import AsyncTestClient, TestClient, WebSocketDenied
from plait.types import Message, Receive, Scope, Send


def _echo_app() -> App:
    app = App()

    @app.route("/echo", methods=["GET", "POST"])
    async def echo(request: Request) -> dict[str, Any]:
        return {
            "method": request.method,
            "path": request.path,
            "root_path": request.scope["root_path"],
            "query": request.url.query,
            "host": request.headers["host"],
            "url": str(request.url),
            "body": (await request.body()).decode(),
            "cookies": request.cookies,
            "server": list(request.scope["server"]),
        }

    @app.get("/set")
    async def set_cookie() -> Any:
        from plait import PlainTextResponse

        response = PlainTextResponse("set")
        response.set_cookie("flavour", "oat")
        return response

    return app


# ------------------------------------------------------------------ HTTP


def test_requests_carry_method_path_query_body_and_host() -> None:
    with TestClient(_echo_app()) as client:
        data = client.post("/echo?a=1&b=x%20y", content=b"hello").json()
    assert data == {
        "method": "POST",
        "path": "/echo",
        "root_path": "",
        "query": "a=1&b=x%20y",
        "host": "testserver",
        "url": "http://testserver/echo?a=1&b=x%20y",
        "body": "hello",
        "cookies": {},
        "server": ["testserver", 80],
    }


def test_percent_escapes_in_the_path_are_decoded_once() -> None:
    # As a server does: "%252e" is the text "%2e", never a dot.
    app = App()

    @app.get("/files/{name:path}")
    def files(name: str) -> str:
        return name

    with TestClient(app) as client:
        assert client.get("/files/a%252e%252e").text == "a%2e%2e"
        assert client.get("/files/a%20b").text == "a b"


def test_base_url_and_root_path() -> None:
    client = TestClient(_echo_app(), base_url="https://api.example:8443", root_path="/v1")
    with client:
        data = client.get("/echo").json()
    assert data["root_path"] == "/v1"
    assert data["path"] == "/v1/echo"
    assert data["host"] == "api.example:8443"
    assert data["url"] == "https://api.example:8443/v1/echo"
    assert data["server"] == ["api.example", 8443]


def test_https_default_port() -> None:
    with TestClient(_echo_app(), base_url="https://secure.example") as client:
        assert client.get("/echo").json()["server"] == ["secure.example", 443]


def test_cookies_persist_across_requests() -> None:
    with TestClient(_echo_app()) as client:
        client.get("/set")
        assert client.get("/echo").json()["cookies"] == {"flavour": "oat"}


def test_redirects_are_followed_by_default() -> None:
    app = App()

    @app.get("/a")
    def a() -> Any:
        from plait import RedirectResponse

        return RedirectResponse("/b")

    @app.get("/b")
    def b() -> str:
        return "b"

    with TestClient(app) as client:
        response = client.get("/a")
        assert response.text == "b"
        assert [r.status_code for r in response.history] == [307]


def test_client_without_context_manager_works_and_closes() -> None:
    client = TestClient(_echo_app())
    assert client.get("/echo").status_code == 200
    client.close()
    assert client._portal is None


# ------------------------------------------------------------------ bare ASGI apps


async def _bare_app(scope: Scope, receive: Receive, send: Send) -> None:
    """A raw ASGI app that ignores the lifespan scope, as many do."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"x-bare", b"1")]})
    await send({"type": "http.response.body", "body": b"bare"})


async def _strict_app(scope: Scope, receive: Receive, send: Send) -> None:
    """A raw ASGI app that refuses any scope but HTTP by raising."""
    assert scope["type"] == "http"
    await _bare_app(scope, receive, send)


@pytest.mark.parametrize("app", [_bare_app, _strict_app])
def test_bare_asgi_app_without_lifespan_support(app: Any) -> None:
    started = time.monotonic()
    with TestClient(app) as client:
        response = client.get("/")
        assert response.text == "bare"
        assert response.headers["x-bare"] == "1"
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("app", [_bare_app, _strict_app])
def test_async_client_with_a_bare_asgi_app(app: Any) -> None:
    async def main() -> str:
        async with AsyncTestClient(app) as client:
            return (await client.get("/")).text

    assert asyncio.run(asyncio.wait_for(main(), timeout=10)) == "bare"


def _misbehaving(*messages: Message) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        for message in messages:
            await send(message)

    return app


@pytest.mark.parametrize(
    ("messages", "error"),
    [
        ((), "returned without sending a response"),
        (({"type": "http.response.body", "body": b"x"},), "body before http.response.start"),
        (
            (
                {"type": "http.response.start", "status": 200},
                {"type": "http.response.start", "status": 200},
            ),
            "sent http.response.start twice",
        ),
        (
            (
                {"type": "http.response.start", "status": 200},
                {"type": "http.response.body", "body": b"x"},
                {"type": "http.response.body", "body": b"y"},
            ),
            "body after the response was complete",
        ),
    ],
)
def test_protocol_misuse_is_reported(messages: tuple[Message, ...], error: str) -> None:
    with TestClient(_misbehaving(*messages)) as client, pytest.raises(RuntimeError, match=error):
        client.get("/")


async def _reads_after_responding(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    first = await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": first["body"]})
    # Once the response is complete the client is gone, as a server would report.
    assert (await receive())["type"] == "http.disconnect"


def test_receive_after_the_response_is_a_disconnect() -> None:
    with TestClient(_reads_after_responding) as client:
        assert client.post("/", content=b"once").content == b"once"


def test_host_header_is_added_when_missing() -> None:
    with TestClient(_echo_app()) as client:
        request = client.build_request("GET", "/echo")
        del request.headers["host"]
        assert client.send(request).json()["host"] == "testserver"


async def _shutdown_fails_quietly(scope: Scope, receive: Receive, send: Send) -> None:
    """Reports a failed shutdown without raising, as the ASGI spec allows."""
    assert scope["type"] == "lifespan"
    await receive()
    await send({"type": "lifespan.startup.complete"})
    await receive()
    await send({"type": "lifespan.shutdown.failed", "message": "flush failed"})


def test_reported_shutdown_failure_raises() -> None:
    with (
        pytest.raises(RuntimeError, match="shutdown failed: flush failed"),
        TestClient(_shutdown_fails_quietly),
    ):
        pass

    async def main() -> None:
        async with AsyncTestClient(_shutdown_fails_quietly):
            pass

    with pytest.raises(RuntimeError, match="shutdown failed: flush failed"):
        asyncio.run(main())


def test_streamed_response_body_is_collected() -> None:
    app = _misbehaving(
        {"type": "http.response.start", "status": 200, "headers": []},
        {"type": "http.response.body", "body": b"a", "more_body": True},
        {"type": "http.response.body", "body": b"b", "more_body": False},
    )
    with TestClient(app) as client:
        assert client.get("/").content == b"ab"


# ------------------------------------------------------------------ async client


def test_async_client_requests_without_lifespan() -> None:
    async def main() -> dict[str, Any]:
        client = AsyncTestClient(_echo_app(), base_url="http://example", root_path="/r")
        try:
            return (await client.post("/echo", content=b"async body")).json()
        finally:
            await client.aclose()

    data = asyncio.run(main())
    assert data["body"] == "async body"
    assert data["path"] == "/r/echo"
    assert data["host"] == "example"


# ------------------------------------------------------------------ WebSockets


def _ws_app() -> App:
    app = App()

    @app.websocket("/echo")
    async def echo(websocket: WebSocket) -> None:
        await websocket.accept(subprotocol="chat", headers=[(b"x-hello", b"1")])
        text = await websocket.receive_text()
        await websocket.send_text(f"text:{text}")
        data = await websocket.receive_bytes()
        await websocket.send_bytes(data[::-1])
        obj = await websocket.receive_json()
        await websocket.send_json({"got": obj, "query": websocket.query_params.get("q")})
        await websocket.send_json({"header": websocket.headers.get("x-token")}, mode="binary")
        await websocket.close(4000, "bye")

    @app.websocket("/deny")
    async def deny(websocket: WebSocket) -> None:
        await websocket.close(4403, "forbidden")

    @app.websocket("/forget")
    async def forget(websocket: WebSocket) -> None:
        await websocket.accept()

    @app.websocket("/raw")
    async def raw(websocket: WebSocket) -> None:
        await websocket.accept()
        message = await websocket.receive()
        await websocket.send_text(message.get("text") or "none")
        await websocket.receive()  # waits for the client to close

    return app


def test_websocket_session_round_trip() -> None:
    with (
        TestClient(_ws_app()) as client,
        client.websocket_connect(
            "/echo?q=1", subprotocols=["chat", "other"], headers={"X-Token": "t"}
        ) as ws,
    ):
        assert ws.accepted_subprotocol == "chat"
        assert ws.accepted_headers == [(b"x-hello", b"1")]
        ws.send_text("hi")
        assert ws.receive_text() == "text:hi"
        ws.send_bytes(b"abc")
        assert ws.receive_bytes() == b"cba"
        ws.send_json({"n": 1})
        assert ws.receive_json() == {"got": {"n": 1}, "query": "1"}
        assert ws.receive_json() == {"header": "t"}
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive()
        assert (info.value.code, info.value.reason) == (4000, "bye")
        assert (ws.close_code, ws.close_reason) == (4000, "bye")


def test_websocket_denied_handshake() -> None:
    with TestClient(_ws_app()) as client:
        with pytest.raises(WebSocketDenied) as info, client.websocket_connect("/deny"):
            pass
        assert (info.value.code, info.value.reason) == (4403, "forbidden")
        with pytest.raises(WebSocketDenied) as info, client.websocket_connect("/missing"):
            pass
        assert info.value.code == 1000


def test_websocket_left_open_by_a_handler_is_closed_for_it() -> None:
    with TestClient(_ws_app()) as client, client.websocket_connect("/forget") as ws:
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive()
        assert info.value.code == 1000


async def _accept_and_leave(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})


def test_raw_websocket_app_ending_without_close_is_reported() -> None:
    with (
        TestClient(_accept_and_leave) as client,
        client.websocket_connect("/") as ws,
        pytest.raises(RuntimeError, match="ended without closing"),
    ):
        ws.receive()


def test_raw_websocket_app_ending_before_accepting_is_reported() -> None:
    with (
        TestClient(_bare_app) as client,
        pytest.raises(RuntimeError, match="ended without closing"),
        client.websocket_connect("/"),
    ):
        pass


async def _http_denial(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.http.response.start", "status": 403, "headers": []})
        await send({"type": "websocket.http.response.body", "body": b""})


def test_websocket_denied_with_an_http_response_is_abnormal_closure() -> None:
    with TestClient(_http_denial) as client:
        with pytest.raises(WebSocketDenied) as info, client.websocket_connect("/"):
            pass
        assert info.value.code == 1006


def test_websocket_wrong_message_kinds_and_raw_send() -> None:
    with TestClient(_ws_app()) as client, client.websocket_connect("/raw") as ws:
        ws.send({"type": "websocket.receive", "bytes": b"\x00"})
        with pytest.raises(TypeError, match="Expected a bytes message, got text"):
            ws.receive_bytes()
        ws.close(1001)
        assert ws.close_code == 1001
    with TestClient(_ws_app()) as client, client.websocket_connect("/echo") as ws:
        ws.send_text("x")
        assert ws.receive_text() == "text:x"
        ws.send_bytes(b"yz")
        with pytest.raises(TypeError, match="Expected a text message, got bytes"):
            ws.receive_text()


def test_websocket_connect_sends_the_cookie_jar() -> None:
    app = App()

    @app.get("/login")
    def login() -> Response:
        response = Response("ok")
        response.set_cookie("session", "ada-session", path="/")
        response.set_cookie("admin_only", "x", path="/admin")
        return response

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_json(websocket.cookies)
        await websocket.close()

    with TestClient(app) as client:
        client.get("/login")
        with client.websocket_connect("/ws") as session:
            assert session.receive_json() == {"session": "ada-session"}
        headers = {"Cookie": "extra=1"}
        with client.websocket_connect("/ws", headers=headers) as session:
            assert session.receive_json() == {"extra": "1"}  # an explicit Cookie header wins
