"""WebSockets through ``TestClient.websocket_connect``, the way a user tests them."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest

from plait import App, HTTPException, WebSocket, WebSocketDisconnect, WebSocketException
from plait.testing import TestClient, WebSocketDenied
from plait.types import Message


def make_app() -> App:
    app = App()
    seen: list[Any] = []
    app.state.seen = seen

    @app.websocket("/echo")
    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        async for text in ws.iter_text():
            await ws.send_text(text)

    @app.websocket("/types")
    async def types(ws: WebSocket) -> None:
        await ws.accept()
        text = await ws.receive_text()
        data = await ws.receive_bytes()
        doc = await ws.receive_json()
        await ws.send_text(text.upper())
        await ws.send_bytes(data[::-1])
        await ws.send_json({"got": doc})
        await ws.send_json([1, 2], mode="binary")
        await ws.close()

    @app.websocket("/close/{code:int}")
    async def close_with(ws: WebSocket, code: int) -> None:
        await ws.accept()
        await ws.close(code, "bye now")

    @app.websocket("/rooms/{room}/users/{user_id:int}")
    async def room(ws: WebSocket, room: str, user_id: int) -> None:
        await ws.accept()
        await ws.send_json(
            {
                "room": room,
                "user_id": user_id,
                "params": ws.path_params,
                "query": dict(ws.query_params),
                "token": ws.headers.get("x-token"),
                "cookie": ws.cookies.get("session"),
                "url": str(ws.url),
            }
        )
        await ws.close()

    @app.websocket("/subprotocol")
    async def subprotocol(ws: WebSocket) -> None:
        offered = ws.subprotocols
        chosen = "chat.v2" if "chat.v2" in offered else None
        await ws.accept(subprotocol=chosen, headers=[(b"x-server", b"plait")])
        await ws.send_json(offered)
        await ws.close()

    @app.websocket("/iter/text")
    async def iter_text(ws: WebSocket) -> None:
        await ws.accept()
        seen.extend([text async for text in ws.iter_text()])
        seen.append("loop ended")

    @app.websocket("/iter/bytes")
    async def iter_bytes(ws: WebSocket) -> None:
        await ws.accept()
        seen.extend([data async for data in ws.iter_bytes()])
        seen.append("loop ended")

    @app.websocket("/iter/json")
    async def iter_json(ws: WebSocket) -> None:
        await ws.accept()
        seen.extend([doc async for doc in ws.iter_json()])
        seen.append("loop ended")

    @app.websocket("/disconnect")
    async def disconnect(ws: WebSocket) -> None:
        await ws.accept()
        try:
            while True:
                await ws.receive_text()
        except WebSocketDisconnect as exc:
            seen.append(("disconnected", exc.code, exc.reason))

    @app.websocket("/deny")
    async def deny(ws: WebSocket) -> None:
        await ws.close(4403, "not you")

    @app.websocket("/deny-http")
    async def deny_http(ws: WebSocket) -> None:
        raise HTTPException(401, "log in first")

    @app.websocket("/boom")
    async def boom(ws: WebSocket) -> None:
        await ws.accept()
        await ws.receive_text()
        raise ValueError("handler bug")

    @app.websocket("/boom-early")
    async def boom_early(ws: WebSocket) -> None:
        raise ValueError("bug before accept")

    @app.websocket("/ws-exception")
    async def ws_exception(ws: WebSocket) -> None:
        await ws.accept()
        raise WebSocketException(4001, "policy")

    @app.websocket("/json")
    async def json_echo(ws: WebSocket) -> None:
        await ws.accept()
        while True:
            await ws.send_json(await ws.receive_json())

    @app.websocket("/json/binary")
    async def json_binary(ws: WebSocket) -> None:
        await ws.accept()
        doc = await ws.receive_json(mode="binary")
        problems = []
        for call in (lambda: ws.receive_json(mode="xml"), lambda: ws.send_json(doc, mode="xml")):  # type: ignore[arg-type]
            try:
                await call()
            except ValueError as exc:
                problems.append(str(exc))
        await ws.send_json({"doc": doc, "problems": problems}, mode="binary")

    @app.websocket("/wrong-type")
    async def wrong_type(ws: WebSocket) -> None:
        await ws.accept()
        try:
            await ws.receive_text()
        except TypeError as exc:
            await ws.send_text(f"TypeError: {exc}")
        await ws.receive_text()  # uncaught this time: the connection closes with 1011

    @app.websocket("/misuse")
    async def misuse(ws: WebSocket) -> None:
        errors = []
        for attempt in (ws.send_text("too early"), ws.receive_text()):
            try:
                await attempt
            except RuntimeError as exc:
                errors.append(str(exc))
        await ws.accept()
        try:
            await ws.accept()
        except RuntimeError as exc:
            errors.append(str(exc))
        await ws.send_json(errors)
        await ws.close()
        try:
            await ws.send_text("after close")
        except RuntimeError as exc:
            seen.append(str(exc))

    @app.websocket("/returns")
    async def returns(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text("done")

    @app.websocket("/returns-early")
    async def returns_early(ws: WebSocket) -> None:
        return None

    @app.websocket("/after-close")
    async def after_close(ws: WebSocket) -> None:
        await ws.accept()
        await ws.close(4000)
        try:
            await ws.receive_text()
        except WebSocketDisconnect as exc:
            seen.append(("receive after close", exc.code))

    @app.get("/http-only")
    def http_only() -> str:
        return "plain HTTP"

    return app


@pytest.fixture
def app() -> App:
    return make_app()


@pytest.fixture
def client(app: App) -> TestClient:
    return TestClient(app)


@pytest.fixture
def errors(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.ERROR, logger="plait")
    return caplog


def test_echo_text(client: TestClient) -> None:
    with client.websocket_connect("/echo") as ws:
        ws.send_text("hello")
        assert ws.receive_text() == "hello"
        ws.send_text("again")
        assert ws.receive_text() == "again"


def test_text_bytes_and_json_both_ways(client: TestClient) -> None:
    with client.websocket_connect("/types") as ws:
        ws.send_text("shout")
        ws.send_bytes(b"\x00\x01\x02")
        ws.send_json({"a": [1, None, "x"]})
        assert ws.receive_text() == "SHOUT"
        assert ws.receive_bytes() == b"\x02\x01\x00"
        assert ws.receive_json() == {"got": {"a": [1, None, "x"]}}
        assert ws.receive_bytes() == b"[1,2]"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
    assert closed.value.code == 1000


@pytest.mark.parametrize("code", [1000, 1001, 3000, 4999])
def test_server_close_code_and_reason(client: TestClient, code: int) -> None:
    with client.websocket_connect(f"/close/{code}") as ws:
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
        assert closed.value.code == code
        assert closed.value.reason == "bye now"
        assert ws.close_code == code


def test_path_query_headers_and_cookies(client: TestClient) -> None:
    with client.websocket_connect(
        "/rooms/lobby/users/42?lang=en&x=1",
        headers={"X-Token": "t0k", "Cookie": "session=abc"},
    ) as ws:
        info = ws.receive_json()
    assert info == {
        "room": "lobby",
        "user_id": 42,
        "params": {"room": "lobby", "user_id": 42},
        "query": {"lang": "en", "x": "1"},
        "token": "t0k",
        "cookie": "abc",
        "url": "ws://testserver/rooms/lobby/users/42?lang=en&x=1",
    }


def test_path_convertor_mismatch_is_denied(client: TestClient) -> None:
    with (
        pytest.raises(WebSocketDenied),
        client.websocket_connect("/rooms/lobby/users/not-a-number"),
    ):
        pass


def test_subprotocol_negotiation(client: TestClient) -> None:
    with client.websocket_connect("/subprotocol", subprotocols=["chat.v1", "chat.v2"]) as ws:
        assert ws.accepted_subprotocol == "chat.v2"
        assert (b"x-server", b"plait") in ws.accepted_headers
        assert ws.receive_json() == ["chat.v1", "chat.v2"]


def test_no_subprotocol_offered(client: TestClient) -> None:
    with client.websocket_connect("/subprotocol") as ws:
        assert ws.accepted_subprotocol is None
        assert ws.receive_json() == []


@pytest.mark.parametrize(
    ("path", "send", "expected"),
    [
        ("/iter/text", "send_text", ["a", "b", "c"]),
        ("/iter/bytes", "send_bytes", [b"a", b"b", b"c"]),
        ("/iter/json", "send_json", [{"n": 1}, [2], "three"]),
    ],
)
def test_iteration_ends_when_client_closes(
    app: App,
    client: TestClient,
    errors: pytest.LogCaptureFixture,
    path: str,
    send: str,
    expected: list[Any],
) -> None:
    with client.websocket_connect(path) as ws:
        if send == "send_text":
            for item in expected:
                ws.send_text(item)
        elif send == "send_bytes":
            for item in expected:
                ws.send_bytes(item)
        else:
            for item in expected:
                ws.send_json(item)
        ws.close()
    # Leaving the block waits for the handler: its loop has ended, without any error.
    assert app.state.seen == [*expected, "loop ended"]
    assert errors.records == []


def test_client_close_code_reaches_handler(
    app: App, client: TestClient, errors: pytest.LogCaptureFixture
) -> None:
    with client.websocket_connect("/disconnect") as ws:
        ws.send_text("one")
        ws.close(4321, "going away")
    assert app.state.seen == [("disconnected", 4321, "going away")]
    assert errors.records == []


def test_leaving_the_block_disconnects_cleanly(
    app: App, client: TestClient, errors: pytest.LogCaptureFixture
) -> None:
    with client.websocket_connect("/disconnect") as ws:
        ws.send_text("one")
    assert app.state.seen == [("disconnected", 1000, "")]
    assert errors.records == []


def test_close_before_accept_denies_the_handshake(client: TestClient) -> None:
    with pytest.raises(WebSocketDenied) as denied, client.websocket_connect("/deny"):
        pytest.fail("the handshake should have been refused")
    assert denied.value.code == 4403
    assert denied.value.reason == "not you"


def test_http_exception_before_accept_denies_with_policy_violation(client: TestClient) -> None:
    with pytest.raises(WebSocketDenied) as denied, client.websocket_connect("/deny-http"):
        pass
    assert denied.value.code == 1008
    assert "log in first" in denied.value.reason


@pytest.mark.parametrize("path", ["/nowhere", "/http-only", "/echo/extra"])
def test_unknown_path_is_denied(client: TestClient, path: str) -> None:
    with pytest.raises(WebSocketDenied), client.websocket_connect(path):
        pass


def test_handler_exception_closes_with_1011_and_is_logged(
    client: TestClient, errors: pytest.LogCaptureFixture
) -> None:
    with client.websocket_connect("/boom") as ws:
        ws.send_text("trigger")
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
    assert closed.value.code == 1011
    assert "handler bug" not in closed.value.reason  # nothing leaks to the client
    assert any("handler bug" in str(r.exc_info[1]) for r in errors.records if r.exc_info)


def test_handler_exception_before_accept_denies(
    client: TestClient, errors: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(WebSocketDenied) as denied, client.websocket_connect("/boom-early"):
        pass
    assert denied.value.code == 1011
    assert len(errors.records) == 1


def test_websocket_exception_closes_with_its_code(client: TestClient) -> None:
    with client.websocket_connect("/ws-exception") as ws, pytest.raises(WebSocketDisconnect) as c:
        ws.receive_text()
    assert (c.value.code, c.value.reason) == (4001, "policy")


def test_malformed_json_closes_with_1007(
    client: TestClient, errors: pytest.LogCaptureFixture
) -> None:
    with client.websocket_connect("/json") as ws:
        ws.send_json({"ok": True})
        assert ws.receive_json() == {"ok": True}
        ws.send_text("{not json")
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1007
    assert errors.records == []


def test_iter_json_stops_on_malformed_json(app: App, client: TestClient) -> None:
    with client.websocket_connect("/iter/json") as ws:
        ws.send_json(1)
        ws.send_text("nope")
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
    assert closed.value.code == 1007
    assert app.state.seen == [1, "loop ended"]


def test_json_in_binary_messages_and_unknown_modes(client: TestClient) -> None:
    with client.websocket_connect("/json/binary") as ws:
        ws.send_bytes(b'{"n": 1}')
        answer = ws.receive_bytes()
    assert json.loads(answer) == {
        "doc": {"n": 1},
        "problems": ['mode must be "text" or "binary", not \'xml\''] * 2,
    }


@pytest.mark.parametrize("reply", ["text", "json"])
def test_a_send_to_a_client_that_went_away_raises_disconnect_1006(reply: str) -> None:
    app = App()
    seen: list[Any] = []

    @app.websocket("/talk")
    async def talk(ws: WebSocket) -> None:
        await ws.accept()
        try:
            await (ws.send_text("hi") if reply == "text" else ws.send_json({"hi": 1}))
        except WebSocketDisconnect as exc:
            seen.append((exc.code, ws.client_state.name, ws.application_state.name))

    async def main() -> None:
        async def receive() -> Message:
            return {"type": "websocket.connect"}

        async def send(message: Message) -> None:
            if message["type"] == "websocket.send":  # as ASGI servers do for a closed socket
                raise ConnectionResetError("the client went away")

        scope = {"type": "websocket", "path": "/talk", "headers": [], "query_string": b""}
        await app(scope, receive, send)

    asyncio.run(main())
    assert seen == [(1006, "DISCONNECTED", "DISCONNECTED")]


def test_receive_text_when_bytes_sent_is_an_error(
    client: TestClient, errors: pytest.LogCaptureFixture
) -> None:
    with client.websocket_connect("/wrong-type") as ws:
        ws.send_bytes(b"binary")
        assert ws.receive_text() == "TypeError: Expected a text message, received bytes"
        ws.send_bytes(b"binary again")
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
    assert closed.value.code == 1011
    assert len(errors.records) == 1


def test_misuse_raises_runtime_errors(app: App, client: TestClient) -> None:
    with client.websocket_connect("/misuse") as ws:
        problems = ws.receive_json()
    assert len(problems) == 3
    assert all("accept" in problem for problem in problems)
    assert app.state.seen == ["Cannot send on a closed WebSocket"]


def test_returning_after_accept_closes_normally(client: TestClient) -> None:
    with client.websocket_connect("/returns") as ws:
        assert ws.receive_text() == "done"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
    assert closed.value.code == 1000


def test_returning_without_accept_denies(client: TestClient) -> None:
    with pytest.raises(WebSocketDenied), client.websocket_connect("/returns-early"):
        pass


def test_receive_after_server_close_raises_disconnect(app: App, client: TestClient) -> None:
    with client.websocket_connect("/after-close") as ws, pytest.raises(WebSocketDisconnect):
        ws.receive_text()
    assert app.state.seen == [("receive after close", 4000)]


def test_websocket_runs_inside_lifespan_and_middleware() -> None:
    app = App()
    events: list[str] = []

    class Tag:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            events.append(scope["type"])
            await self.inner(scope, receive, send)

    app.add_middleware(Tag)

    @app.on_startup
    def started() -> None:
        events.append("startup")

    @app.websocket("/ws")
    async def ws_handler(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text(await ws.receive_text())

    with TestClient(app) as client, client.websocket_connect("/ws") as ws:
        ws.send_text("through the stack")
        assert ws.receive_text() == "through the stack"
    assert events == ["startup", "websocket"]


def test_router_prefix_applies_to_websockets() -> None:
    from plait import Router

    router = Router(prefix="/api")

    @router.websocket("/live/{channel}")
    async def live(ws: WebSocket, channel: str) -> None:
        await ws.accept()
        await ws.send_text(channel)
        await ws.close()

    app = App()
    app.include_router(router)
    with TestClient(app).websocket_connect("/api/live/news") as ws:
        assert ws.receive_text() == "news"


# ------------------------------------------------------------------ docs/websockets.md

DOC = Path(__file__).resolve().parents[1] / "docs" / "websockets.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def run_example(*indexes: int) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "websockets_doc"}
    for index in indexes:
        exec(compile(EXAMPLES[index], f"{DOC}:example{index}", "exec"), namespace)
    return namespace


def test_docs_echo_example_and_its_tests() -> None:
    namespace = run_example(0, 2)
    namespace["test_echo"]()
    namespace["test_unknown_path_is_refused"]()


def test_docs_chat_example_and_its_test() -> None:
    namespace = run_example(1, 2, 3)
    namespace["test_chat_room"]()
    client = TestClient(namespace["app"])
    with pytest.raises(WebSocketDenied) as denied, client.websocket_connect("/chat/x?name=1x"):
        pass
    assert (denied.value.code, denied.value.reason) == (1008, "pick another name")
    with client.websocket_connect("/chat/lobby?name=ada") as ada:
        with client.websocket_connect("/chat/lobby?name=bob") as bob:
            bob.send_json({"text": "bye"})
            assert ada.receive_json() == {"from": "bob", "text": "bye"}
        ada.send_json({"text": "still here?"})
        assert ada.receive_json() == {"from": "ada", "text": "still here?"}
    assert namespace["rooms"]["lobby"] == set()
