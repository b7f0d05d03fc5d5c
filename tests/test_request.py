"""The lazy Request: scope views, cookies, bodies, JSON, limits and their 4xx answers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from plait import App, Request, State
from plait._request import Address, ClientDisconnect, is_json_content_type, parse_cookies
from plait.testing import TestClient
from plait.types import Message, Scope


def _scope(
    *,
    method: str = "POST",
    path: str = "/",
    headers: Sequence[tuple[str, str]] = (),
    query: bytes = b"",
) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
        "client": ("1.2.3.4", 5678),
        "server": ("testserver", 80),
    }


def _drive(
    app: App, scope: Scope, messages: Sequence[Message]
) -> tuple[int, dict[str, str], bytes]:
    """Run ``app`` once on ``scope``, feeding exactly ``messages`` to receive()."""
    inbox = list(messages)
    sent: list[Message] = []

    async def receive() -> Message:
        if inbox:
            return inbox.pop(0)
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = sent[0]
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, b"".join(m.get("body", b"") for m in sent[1:])


def _echo_app(**options: Any) -> App:
    app = App(**options)

    @app.post("/body")
    async def body(request: Request) -> bytes:
        return await request.body()

    @app.post("/stream")
    async def stream(request: Request) -> dict[str, Any]:
        chunks = [chunk async for chunk in request.stream()]
        return {"chunks": len(chunks), "size": sum(len(c) for c in chunks)}

    @app.post("/json")
    async def json(request: Request) -> Any:
        return {"got": await request.json()}

    return app


# ------------------------------------------------------------------ scope views


def test_request_properties_through_the_app() -> None:
    app = App()

    @app.get("/items/{item_id:int}")
    async def item(item_id: int, request: Request) -> dict[str, Any]:
        return {
            "method": request.method,
            "path": request.path,
            "path_params": request.path_params,
            "url": str(request.url),
            "scheme": request.url.scheme,
            "host": request.url.hostname,
            "port": request.url.port,
            "url_path": request.url.path,
            "query": request.url.query,
            "q": request.query_params["q"],
            "tags": request.query_params.getlist("tag"),
            "agent": request.headers["user-agent"],
            "custom": request.headers["X-Custom"],
            "client": list(request.client) if request.client else None,
        }

    with TestClient(app, base_url="http://example.org:8080") as client:
        response = client.get(
            "/items/3?q=a+b&tag=x&tag=y",
            headers={"User-Agent": "tests", "x-custom": "value"},
        )
    assert response.json() == {
        "method": "GET",
        "path": "/items/3",
        "path_params": {"item_id": 3},
        "url": "http://example.org:8080/items/3?q=a+b&tag=x&tag=y",
        "scheme": "http",
        "host": "example.org",
        "port": 8080,
        "url_path": "/items/3",
        "query": "q=a+b&tag=x&tag=y",
        "q": "a b",
        "tags": ["x", "y"],
        "agent": "tests",
        "custom": "value",
        "client": ["testclient", 50000],
    }


def test_scope_views_are_computed_once_and_cached() -> None:
    request = Request(_scope(headers=[("Cookie", "a=1")], query=b"x=1"))
    assert request.headers is request.headers
    assert request.query_params is request.query_params
    assert request.cookies is request.cookies
    assert request.url is request.url
    assert request.state is request.state


def test_client_address_and_missing_client() -> None:
    request = Request(_scope())
    assert request.client == Address("1.2.3.4", 5678)
    assert request.client.host == "1.2.3.4"
    scope = _scope()
    del scope["client"]
    assert Request(scope).client is None


def test_path_params_default_to_empty() -> None:
    assert Request(_scope()).path_params == {}


def test_url_includes_root_path() -> None:
    scope = _scope(path="/api/items", query=b"a=1")
    scope["root_path"] = "/api"
    assert str(Request(scope).url) == "http://testserver/api/items?a=1"


def test_request_state_is_shared_through_the_scope() -> None:
    class SetUser:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
            scope.setdefault("state", {})["user"] = "ann"
            await self.app(scope, receive, send)

    app = App()
    app.add_middleware(SetUser)

    @app.get("/")
    async def index(request: Request) -> dict[str, str]:
        request.state.seen = "yes"
        assert request.scope["state"]["seen"] == "yes"
        return {"user": request.state.user}

    with TestClient(app) as client:
        assert client.get("/").json() == {"user": "ann"}


def test_state_is_an_attribute_bag() -> None:
    request = Request(_scope())
    assert isinstance(request.state, State)
    with pytest.raises(AttributeError):
        _ = request.state.missing


def test_url_for_needs_an_app() -> None:
    request = Request(_scope())
    assert request.app is None
    with pytest.raises(RuntimeError, match="belong to an app"):
        request.url_for("x")


def test_session_without_the_sessions_battery_names_it() -> None:
    request = Request({"type": "http", "headers": []})
    with pytest.raises(RuntimeError, match=r"add Sessions\(app\)"):
        _ = request.session


def test_session_and_user_come_from_the_scope() -> None:
    session: dict[str, Any] = {"cart": [1]}
    request = Request({"type": "http", "headers": [], "session": session, "user": "ada"})
    assert request.session is session
    assert request.user == "ada"
    assert Request({"type": "http", "headers": []}).user is None


def test_app_can_come_from_the_scope() -> None:
    app = App()
    scope = _scope()
    scope["app"] = app
    assert Request(scope).app is app


# ------------------------------------------------------------------ cookies


def test_cookies_through_the_app() -> None:
    app = App()

    @app.get("/")
    async def index(request: Request) -> dict[str, str]:
        return request.cookies

    with TestClient(app) as client:
        response = client.get("/", headers={"Cookie": 'session=abc; theme="dark"; empty='})
        assert response.json() == {"session": "abc", "theme": "dark", "empty": ""}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", {}),
        ("a=1", {"a": "1"}),
        ("a=1; b=2", {"a": "1", "b": "2"}),
        ("a=1;b=2;", {"a": "1", "b": "2"}),
        (' a = "quoted value" ', {"a": "quoted value"}),
        ("a=1; a=2", {"a": "2"}),
        ("novalue", {"novalue": ""}),
        ("=bare", {"": "bare"}),
        ("k=v=w", {"k": "v=w"}),
        ('q="', {"q": '"'}),
        ("; ;", {}),
    ],
)
def test_parse_cookies_is_lenient(header: str, expected: dict[str, str]) -> None:
    assert parse_cookies(header) == expected


def test_repeated_cookie_headers_are_joined() -> None:
    request = Request(_scope(headers=[("cookie", "a=1"), ("cookie", "b=2")]))
    assert request.cookies == {"a": "1", "b": "2"}


# ------------------------------------------------------------------ body and stream


def test_body_is_read_once_and_cached() -> None:
    app = App()

    @app.post("/")
    async def twice(request: Request) -> dict[str, Any]:
        first = await request.body()
        second = await request.body()
        streamed = [chunk async for chunk in request.stream()]
        return {"same": first is second, "body": first.decode(), "streamed": streamed == [first]}

    with TestClient(app) as client:
        assert client.post("/", content=b"payload").json() == {
            "same": True,
            "body": "payload",
            "streamed": True,
        }


def test_large_body_arrives_in_many_messages() -> None:
    app = _echo_app()
    payload = bytes(range(256)) * 1024  # 256 KiB, four test-client messages
    with TestClient(app) as client:
        assert client.post("/body", content=payload).content == payload
        assert client.post("/stream", content=payload).json() == {
            "chunks": 4,
            "size": len(payload),
        }


def test_empty_body() -> None:
    app = _echo_app()
    with TestClient(app) as client:
        assert client.post("/body").content == b""
        assert client.post("/stream").json() == {"chunks": 0, "size": 0}


def test_body_after_stream_is_an_error() -> None:
    app = App()

    @app.post("/")
    async def handler(request: Request) -> str:
        async for _ in request.stream():
            pass
        try:
            await request.body()
        except RuntimeError as exc:
            return str(exc)
        return "no error"

    with TestClient(app) as client:
        assert client.post("/", content=b"x").text == "The request body was already streamed"


def test_stream_twice_is_an_error() -> None:
    async def main() -> None:
        request = Request(_scope(), _messages([b"a"]))
        assert [c async for c in request.stream()] == [b"a"]
        with pytest.raises(RuntimeError, match="already streamed"):
            async for _ in request.stream():
                pass

    asyncio.run(main())


def _messages(chunks: list[bytes]) -> Any:
    queue: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]

    async def receive() -> Message:
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    return receive


def test_standalone_request_defaults() -> None:
    async def main() -> None:
        request = Request(_scope())
        assert request.max_body_size is None
        assert await request.body() == b""
        assert request.receive is not None

    asyncio.run(main())


def test_body_ignores_other_message_types_while_streaming() -> None:
    async def main() -> list[bytes]:
        queue: list[Message] = [
            {"type": "http.request", "body": b"a", "more_body": True},
            {"type": "something.else"},
            {"type": "http.request", "body": b"b", "more_body": False},
        ]

        async def receive() -> Message:
            return queue.pop(0)

        request = Request(_scope(), receive)
        return [c async for c in request.stream()]

    assert asyncio.run(main()) == [b"a", b"b"]


# ------------------------------------------------------------------ size limit: 413


def test_declared_content_length_over_the_limit_is_413_before_reading() -> None:
    app = _echo_app(max_body_size=10)
    for path in ("/body", "/stream", "/json"):
        status, headers, body = _drive(
            app,
            _scope(
                path=path, headers=[("content-length", "11"), ("content-type", "application/json")]
            ),
            [],  # nothing is ever received: the declared size is enough to refuse
        )
        assert status == 413, path
        assert headers["content-type"] == "application/problem+json"
        assert b"larger than 10 bytes" in body


def test_oversize_body_through_the_test_client_is_413() -> None:
    app = _echo_app(max_body_size=100)
    with TestClient(app) as client:
        assert client.post("/body", content=b"x" * 100).status_code == 200
        response = client.post("/body", content=b"x" * 101)
        assert response.status_code == 413
        assert response.json()["status"] == 413


def _chunked(chunks: list[bytes]) -> list[Message]:
    return [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]


@pytest.mark.parametrize("path", ["/body", "/stream"])
def test_streamed_body_without_content_length_is_cut_off_at_the_limit(path: str) -> None:
    app = _echo_app(max_body_size=10)
    status, _, body = _drive(app, _scope(path=path), _chunked([b"12345", b"67890", b"1", b"x"]))
    assert status == 413
    assert b"larger than 10 bytes" in body
    status, _, body = _drive(app, _scope(path=path), _chunked([b"12345", b"67890"]))
    assert status == 200


def test_single_message_over_the_limit_without_content_length() -> None:
    app = _echo_app(max_body_size=4)
    status, _, _ = _drive(app, _scope(path="/body"), _chunked([b"12345"]))
    assert status == 413


def test_chunked_upload_through_the_test_client_is_413() -> None:
    app = _echo_app(max_body_size=1000)

    def generate() -> Iterator[bytes]:
        for _ in range(20):
            yield b"y" * 100

    with TestClient(app) as client:
        response = client.post("/stream", content=generate())
        assert response.status_code == 413


def test_no_limit_when_max_body_size_is_none() -> None:
    app = _echo_app(max_body_size=None)
    status, _, body = _drive(
        app,
        _scope(path="/body", headers=[("content-length", "999999999")]),
        _chunked([b"a" * 10, b"b" * 10]),
    )
    assert status == 200
    assert body == b"a" * 10 + b"b" * 10


def test_non_numeric_content_length_is_400() -> None:
    app = _echo_app()
    status, _, body = _drive(app, _scope(path="/body", headers=[("content-length", "ten")]), [])
    assert status == 400
    assert b"Content-Length is not a number" in body


# ------------------------------------------------------------------ disconnects


@pytest.mark.parametrize("path", ["/body", "/stream"])
def test_client_disconnect_while_reading_is_a_quiet_400(
    path: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = _echo_app()
    messages: list[Message] = [
        {"type": "http.request", "body": b"part", "more_body": True},
        {"type": "http.disconnect"},
    ]
    status, _, _ = _drive(app, _scope(path=path), messages)
    assert status == 400
    assert "Unhandled exception" not in caplog.text


def test_disconnect_before_any_body() -> None:
    async def main() -> None:
        async def receive() -> Message:
            return {"type": "http.disconnect"}

        with pytest.raises(ClientDisconnect):
            await Request(_scope(), receive).body()

    asyncio.run(main())


def test_is_disconnected() -> None:
    async def main() -> tuple[bool, bool]:
        async def gone() -> Message:
            return {"type": "http.disconnect"}

        async def quiet() -> Message:
            await asyncio.sleep(3600)
            raise AssertionError("unreachable")

        return (
            await Request(_scope(), gone).is_disconnected(),
            await Request(_scope(), quiet).is_disconnected(),
        )

    assert asyncio.run(main()) == (True, False)


# ------------------------------------------------------------------ JSON


def test_json_body() -> None:
    app = _echo_app()
    with TestClient(app) as client:
        assert client.post("/json", json={"a": [1, 2]}).json() == {"got": {"a": [1, 2]}}
        # No Content-Type at all is accepted as JSON.
        assert client.post("/json", content=b"[1]").json() == {"got": [1]}
        problem = client.post(
            "/json", content=b'{"x": 1}', headers={"content-type": "application/merge-patch+json"}
        )
        assert problem.json() == {"got": {"x": 1}}


def test_json_is_cached() -> None:
    app = App()

    @app.post("/")
    async def twice(request: Request) -> bool:
        return await request.json() is await request.json()

    with TestClient(app) as client:
        assert client.post("/", json={"a": 1}).json() is True


@pytest.mark.parametrize("content", [b"{not json", b"", b'{"a": 1', b"\xff\xfe"])
def test_malformed_json_is_a_400_problem(content: bytes) -> None:
    app = _echo_app()
    with TestClient(app) as client:
        response = client.post(
            "/json", content=content, headers={"content-type": "application/json"}
        )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["title"] == "Malformed JSON"
    assert problem["status"] == 400
    # msgspec's own wording, said once (not "Malformed JSON: JSON is malformed: …").
    assert problem["detail"].startswith(("JSON is malformed: ", "Malformed JSON: "))
    assert "Malformed JSON: JSON is malformed" not in problem["detail"]


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/jsonx"]
)
def test_json_with_a_non_json_content_type_is_415(content_type: str) -> None:
    app = _echo_app()
    with TestClient(app) as client:
        response = client.post("/json", content=b"{}", headers={"content-type": content_type})
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Unsupported Media Type"


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/json", True),
        ("Application/JSON; charset=utf-8", True),
        ("application/problem+json", True),
        ("application/vnd.api+json", True),
        ("text/json", False),
        ("text/plain+json", False),
        ("application/jsonp", False),
    ],
)
def test_is_json_content_type(content_type: str, expected: bool) -> None:
    assert is_json_content_type(content_type) is expected


# ------------------------------------------------------------------------- body read timeout


def _body_app(**options: Any) -> App:
    app = App(**options)

    @app.post("/whole")
    async def whole(request: Request) -> int:
        return len(await request.body())

    @app.post("/streamed")
    async def streamed(request: Request) -> int:
        return sum([len(chunk) async for chunk in request.stream()])

    @app.post("/json")
    async def as_json(request: Request) -> Any:
        return await request.json()

    return app


@pytest.mark.parametrize("path", ["/whole", "/streamed", "/json"])
@pytest.mark.parametrize(
    "first", [[], [{"type": "http.request", "body": b"{", "more_body": True}]], ids=["none", "some"]
)
def test_a_body_that_stops_coming_is_a_408(path: str, first: list[Message]) -> None:
    app = _body_app(body_timeout=0.2)
    scope = _scope(path=path, headers=[("content-type", "application/json")])
    status, _, body = _drive(app, scope, first)  # then receive() waits forever
    assert status == 408
    assert b"did not arrive in time" in body


def test_the_body_timeout_is_between_pieces_not_for_the_whole_body() -> None:
    app = _body_app(body_timeout=0.3)
    pieces = [b"a", b"b", b"c", b"d", b""]

    async def main() -> list[Message]:
        sent: list[Message] = []

        async def receive() -> Message:
            await asyncio.sleep(0.1)  # 0.5 s in all, each piece well within 0.3 s
            chunk = pieces.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(pieces)}

        async def send(message: Message) -> None:
            sent.append(message)

        await app(_scope(path="/streamed"), receive, send)
        return sent

    sent = asyncio.run(main())
    assert (sent[0]["status"], sent[1]["body"]) == (200, b"4")


def test_body_timeout_defaults_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLAIT_BODY_TIMEOUT", raising=False)
    assert App().body_timeout == 30
    monkeypatch.setenv("PLAIT_BODY_TIMEOUT", "2.5")
    assert App().body_timeout == 2.5
    assert App(body_timeout=0).body_timeout == 0  # off
    monkeypatch.setenv("PLAIT_BODY_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="PLAIT_BODY_TIMEOUT='soon'"):
        App()


def test_bodies_are_read_without_an_asyncio_loop_too() -> None:
    # trio, or a coroutine driven by hand (bench/callgrind.py): no timer, but no error either.
    app = _body_app(body_timeout=5)
    app.build()
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"abc", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    for path in ("/whole", "/streamed"):
        sent.clear()
        with pytest.raises(StopIteration):
            app(_scope(path=path), receive, send).send(None)
        assert (sent[0]["status"], sent[1]["body"]) == (200, b"3")
