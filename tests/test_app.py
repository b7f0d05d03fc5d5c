"""The application: decorators, dispatch, sync handlers, mounts, slash redirects, freezing."""

from __future__ import annotations

import asyncio
import inspect
import threading
from typing import Any

import pytest

from plait import App, Request, Response, Router, WebSocket
from plait.testing import TestClient
from plait.types import Receive, Scope, Send

# ------------------------------------------------------------------ decorators


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete", "options"])
def test_each_method_decorator_routes_only_its_method(method: str) -> None:
    app = App()
    decorator = getattr(app, method)

    @decorator("/thing")
    async def handler(request: Request) -> str:
        return f"{request.method} handled"

    with TestClient(app) as client:
        response = client.request(method.upper(), "/thing")
        assert response.status_code == 200
        assert response.text == f"{method.upper()} handled"
        other = "POST" if method != "post" else "PUT"
        refused = client.request(other, "/thing")
        assert refused.status_code == 405
        assert method.upper() in refused.headers["allow"]


def test_head_decorator_registers_an_explicit_head_handler() -> None:
    app = App()

    @app.head("/probe")
    def probe() -> Response:
        return Response(headers={"x-probe": "yes"})

    with TestClient(app) as client:
        response = client.head("/probe")
        assert response.status_code == 200
        assert response.headers["x-probe"] == "yes"
        assert client.get("/probe").status_code == 405


def test_route_with_several_methods_and_lowercase_names() -> None:
    app = App()

    @app.route("/multi", methods=["get", "Post"])
    async def multi(request: Request) -> dict[str, str]:
        return {"method": request.method}

    with TestClient(app) as client:
        assert client.get("/multi").json() == {"method": "GET"}
        assert client.post("/multi").json() == {"method": "POST"}
        response = client.delete("/multi")
        assert response.status_code == 405
        assert response.headers["allow"] == "GET, HEAD, POST"


def test_route_decorator_defaults_to_get() -> None:
    app = App()

    @app.route("/")
    def index() -> str:
        return "home"

    with TestClient(app) as client:
        assert client.get("/").text == "home"
        assert client.post("/").status_code == 405


def test_decorators_return_the_function_unchanged() -> None:
    app = App()

    def handler() -> str:
        return "x"

    assert app.get("/a")(handler) is handler
    assert app.route("/b", methods=["PUT"])(handler) is handler


def test_add_route_without_decorator() -> None:
    app = App()

    def hello() -> str:
        return "hi"

    route = app.add_route("/hello", hello, methods=["GET"], name="greeting")
    assert route.name == "greeting"
    with TestClient(app) as client:
        assert client.get("/hello").text == "hi"


def test_hello_world_from_the_readme() -> None:
    app = App()

    @app.get("/")
    def index() -> str:
        return "Hello, World!"

    with TestClient(app) as client:
        response = client.get("/")
        assert response.status_code == 200
        assert response.text == "Hello, World!"
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        assert response.headers["content-length"] == "13"


# ------------------------------------------------------------------ handlers and threads


def test_sync_handlers_run_in_a_worker_thread_not_on_the_loop() -> None:
    app = App()
    seen: dict[str, Any] = {}

    @app.get("/sync")
    def sync_handler() -> str:
        seen["sync"] = threading.current_thread()
        return "sync"

    @app.get("/async")
    async def async_handler() -> str:
        seen["async"] = threading.current_thread()
        seen["loop_running"] = asyncio.get_running_loop().is_running()
        return "async"

    with TestClient(app) as client:
        assert client.get("/sync").text == "sync"
        assert client.get("/async").text == "async"
    assert seen["loop_running"]
    assert seen["sync"] is not seen["async"]
    assert seen["sync"].name.startswith("plait-sync")


def test_sync_handlers_do_not_block_the_event_loop() -> None:
    app = App()
    release = threading.Event()

    @app.get("/block")
    def block() -> str:
        # Blocks its worker thread until the async handler below ran on the loop.
        assert release.wait(timeout=10)
        return "unblocked"

    @app.get("/release")
    async def do_release() -> str:
        release.set()
        return "released"

    async def main() -> list[str]:
        from plait.testing import AsyncTestClient

        async with AsyncTestClient(app) as client:
            blocked = asyncio.create_task(client.get("/block"))
            await asyncio.sleep(0.05)
            released = await client.get("/release")
            return [released.text, (await blocked).text]

    assert asyncio.run(main()) == ["released", "unblocked"]


def test_path_params_reach_the_handler_converted() -> None:
    app = App()

    @app.get("/users/{user_id:int}/posts/{slug}")
    async def post(user_id: int, slug: str, request: Request) -> dict[str, Any]:
        return {"user_id": user_id, "slug": slug, "params": request.path_params}

    with TestClient(app) as client:
        assert client.get("/users/7/posts/hello").json() == {
            "user_id": 7,
            "slug": "hello",
            "params": {"user_id": 7, "slug": "hello"},
        }


def test_scope_carries_the_matched_route() -> None:
    app = App()

    @app.get("/where", name="where")
    async def where(request: Request) -> str:
        return str(request.scope["route"].name)

    with TestClient(app) as client:
        assert client.get("/where").text == "where"


# ------------------------------------------------------------------ 404 / 405 / HEAD


def test_unknown_path_is_a_404_problem() -> None:
    app = App()

    @app.get("/")
    def index() -> str:
        return "x"

    with TestClient(app) as client:
        response = client.get("/nope")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json() == {"type": "about:blank", "title": "Not Found", "status": 404}


def test_wrong_method_is_a_405_with_allow() -> None:
    app = App()

    @app.get("/items/{item_id:int}")
    def read(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @app.delete("/items/{item_id:int}")
    def remove(item_id: int) -> None:
        return None

    with TestClient(app) as client:
        response = client.post("/items/3")
        assert response.status_code == 405
        assert response.headers["allow"] == "DELETE, GET, HEAD"
        assert response.json()["title"] == "Method Not Allowed"
        assert client.delete("/items/3").status_code == 204


def test_automatic_head_for_get_has_headers_but_no_body() -> None:
    app = App()
    calls: list[str] = []

    @app.get("/page")
    def page(request: Request) -> str:
        calls.append(request.method)
        return "a body of some length"

    with TestClient(app) as client:
        response = client.head("/page")
        assert response.status_code == 200
        assert response.content == b""
        assert response.headers["content-length"] == str(len("a body of some length"))
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert calls == ["HEAD"]


@pytest.mark.parametrize("head_first", [True, False])
def test_explicit_head_wins_over_automatic_head_in_any_order(head_first: bool) -> None:
    app = App()

    def get_page() -> str:
        return "page"

    def head_page() -> Response:
        return Response(headers={"x-explicit": "1"})

    if head_first:
        app.head("/page")(head_page)
        app.get("/page")(get_page)
    else:
        app.get("/page")(get_page)
        app.head("/page")(head_page)

    with TestClient(app) as client:
        assert client.head("/page").headers["x-explicit"] == "1"
        assert client.get("/page").text == "page"


@pytest.mark.parametrize("method", ["GET", "WEBSOCKET"])
@pytest.mark.parametrize("path", ["/ws", "/rooms/7"])
def test_websocket_only_path_is_not_found_over_http(method: str, path: str) -> None:
    app = App()

    @app.websocket("/ws")
    @app.websocket("/rooms/{room}")
    async def ws(websocket: WebSocket) -> None:
        await websocket.close()

    with TestClient(app) as client:
        response = client.request(method, path)
        assert response.status_code == 404
        assert "allow" not in response.headers


# ------------------------------------------------------------------ redirect_slashes


def test_redirect_slashes_answers_308_both_ways_and_keeps_the_query() -> None:
    app = App()

    @app.get("/items")
    def items() -> str:
        return "items"

    @app.post("/folder/")
    def folder() -> str:
        return "folder"

    with TestClient(app, follow_redirects=False) as client:
        response = client.get("/items/?page=2&q=a%20b")
        assert response.status_code == 308
        assert response.headers["location"] == "/items?page=2&q=a%20b"
        response = client.post("/folder")
        assert response.status_code == 308
        assert response.headers["location"] == "/folder/"
        assert client.get("/missing/").status_code == 404
        assert client.get("/").status_code == 404
    with TestClient(app) as client:
        followed = client.get("/items/")
        assert followed.status_code == 200
        assert followed.text == "items"


def test_redirect_slashes_can_be_turned_off() -> None:
    app = App(redirect_slashes=False)

    @app.get("/items")
    def items() -> str:
        return "items"

    with TestClient(app, follow_redirects=False) as client:
        assert client.get("/items/").status_code == 404


def test_redirect_slashes_includes_root_path() -> None:
    app = App()

    @app.get("/items")
    def items() -> str:
        return "items"

    with TestClient(app, root_path="/api", follow_redirects=False) as client:
        assert client.get("/items").text == "items"
        response = client.get("/items/")
        assert response.status_code == 308
        assert response.headers["location"] == "/api/items"


# ------------------------------------------------------------------ mounts


def _raw_app(label: str) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        body = f"{label} root_path={scope['root_path']} path={scope['path']}".encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    return app


def test_mount_a_raw_asgi_app_sets_root_path() -> None:
    app = App()
    app.mount("/legacy", _raw_app("legacy"))
    app.mount("/legacy/deeper/", _raw_app("deeper"))

    @app.get("/legacy/native")
    def native() -> str:
        return "native"

    with TestClient(app) as client:
        assert client.get("/legacy/a/b").text == "legacy root_path=/legacy path=/legacy/a/b"
        assert client.get("/legacy").text == "legacy root_path=/legacy path=/legacy"
        # The longest mount prefix wins, whatever the registration order.
        assert client.get("/legacy/deeper/x").text == (
            "deeper root_path=/legacy/deeper path=/legacy/deeper/x"
        )
        # Routes of the app come before mounts.
        assert client.get("/legacy/native").text == "native"
        # A mount prefix only matches whole segments.
        assert client.get("/legacyx").status_code == 404


def test_mount_at_root_catches_what_no_route_matches() -> None:
    # The migration path: the old app serves every URL the new app does not have yet.
    app = App()
    app.mount("/", _raw_app("legacy"))

    @app.get("/moved")
    def moved() -> str:
        return "new"

    with TestClient(app) as client:
        assert client.get("/moved").text == "new"
        assert client.get("/old/page").text == "legacy root_path= path=/old/page"
        assert client.get("/").text == "legacy root_path= path=/"


def test_mount_under_an_outer_root_path() -> None:
    app = App()
    app.mount("/sub", _raw_app("sub"))
    with TestClient(app, root_path="/outer") as client:
        assert client.get("/sub/x").text == "sub root_path=/outer/sub path=/outer/sub/x"


def test_mount_a_plait_app_inside_a_plait_app() -> None:
    inner = App()

    @inner.get("/hello/{name}", name="hello")
    def hello(name: str, request: Request) -> dict[str, str]:
        return {
            "name": name,
            "url_for": request.url_for("hello", name=name),
            "url": str(request.url),
            "path": request.path,
        }

    outer = App()
    outer.mount("/inner", inner)
    with TestClient(outer) as client:
        assert client.get("/inner/hello/ann?x=1").json() == {
            "name": "ann",
            "url_for": "http://testserver/inner/hello/ann",
            "url": "http://testserver/inner/hello/ann?x=1",
            "path": "/inner/hello/ann",
        }
        assert client.get("/inner/nothing").status_code == 404


async def _ws_raw(scope: Scope, receive: Receive, send: Send) -> None:
    assert scope["type"] == "websocket"
    await receive()
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": f"{scope['root_path']} {scope['path']}"})
    await send({"type": "websocket.close", "code": 1000})


def test_websockets_reach_a_mounted_app() -> None:
    app = App()
    app.mount("/live", _ws_raw)

    @app.websocket("/live/native")
    async def native(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("native")
        await websocket.close()

    with TestClient(app) as client:
        with client.websocket_connect("/live/feed") as ws:
            assert ws.receive_text() == "/live /live/feed"
        with client.websocket_connect("/live/native") as ws:
            assert ws.receive_text() == "native"


def test_two_websocket_routes_on_one_path_conflict() -> None:
    app = App()

    async def first(websocket: WebSocket) -> None: ...

    async def second(websocket: WebSocket) -> None: ...

    app.add_websocket_route("/ws", first)
    app.add_websocket_route("/ws", second)
    with pytest.raises(ValueError, match=r"WebSocketRoute\('/ws', name='first'\)"):
        app.build()


def test_mount_path_must_be_plain() -> None:
    app = App()
    with pytest.raises(ValueError, match="plain path"):
        app.mount("legacy", _raw_app("x"))
    with pytest.raises(ValueError, match="plain path"):
        app.mount("/items/{id}", _raw_app("x"))


# ------------------------------------------------------------------ reverse routing


def test_url_path_for_fills_parameters_through_convertors() -> None:
    app = App()

    @app.get("/users/{user_id:int}/files/{rest:path}")
    def user_file(user_id: int, rest: str) -> str:
        return rest

    @app.get("/about", name="about_page")
    def about() -> str:
        return "about"

    app.mount("/legacy", _raw_app("x"), name="legacy")
    assert app.url_path_for("user_file", user_id=3, rest="a/b.txt") == "/users/3/files/a/b.txt"
    assert app.url_path_for("about_page") == "/about"
    assert app.url_path_for("legacy", path="/x/y") == "/legacy/x/y"
    assert app.url_path_for("legacy") == "/legacy/"


def test_url_path_for_errors() -> None:
    app = App()

    @app.get("/users/{user_id:int}")
    def user(user_id: int) -> str:
        return str(user_id)

    with pytest.raises(LookupError, match="No route named 'nope'"):
        app.url_path_for("nope")
    with pytest.raises(ValueError, match=r"needs parameters \['user_id'\], got \[\]"):
        app.url_path_for("user")
    with pytest.raises(ValueError, match="got"):
        app.url_path_for("user", user_id=1, extra=2)
    with pytest.raises(ValueError, match="negative"):
        app.url_path_for("user", user_id=-1)


def test_request_url_for_builds_an_absolute_url() -> None:
    app = App()

    @app.get("/items/{item_id:int}", name="item")
    def item(item_id: int) -> str:
        return str(item_id)

    @app.get("/link")
    def link(request: Request) -> str:
        return request.url_for("item", item_id=5)

    with TestClient(app, base_url="https://example.com:8443") as client:
        assert client.get("/link?x=1").text == "https://example.com:8443/items/5"


# ------------------------------------------------------------------ freezing and building


def test_adding_anything_after_start_is_a_runtime_error() -> None:
    app = App()

    @app.get("/")
    def index() -> str:
        return "x"

    with TestClient(app) as client:
        assert client.get("/").status_code == 200
        with pytest.raises(RuntimeError, match="after the app has started"):
            app.get("/late")(index)
        with pytest.raises(RuntimeError, match="after the app has started"):
            app.mount("/late", _raw_app("x"))
        late = Router()
        late.get("/late")(index)
        with pytest.raises(RuntimeError, match="after the app has started"):
            app.include_router(late)
        with pytest.raises(RuntimeError, match="add middleware"):
            app.add_middleware(object)
        with pytest.raises(RuntimeError, match="exception handler"):
            app.exception_handler(404)
        with pytest.raises(RuntimeError, match="exception handler"):
            app.add_exception_handler(404, lambda request, exc: None)
        with pytest.raises(RuntimeError, match="start-up hook"):
            app.on_startup(index)
        with pytest.raises(RuntimeError, match="shutdown hook"):
            app.on_shutdown(index)


def test_first_request_builds_the_app_without_lifespan() -> None:
    app = App()

    @app.get("/")
    def index() -> str:
        return "built lazily"

    client = TestClient(app)
    try:
        assert client.get("/").text == "built lazily"
        with pytest.raises(RuntimeError, match="after the app has started"):
            app.get("/late")(index)
    finally:
        client.close()


def test_build_is_idempotent() -> None:
    app = App()

    @app.get("/")
    def index() -> str:
        return "x"

    app.build()
    matcher = app._matcher
    app.build()
    assert app._matcher is matcher


def test_compiled_routes_come_in_registration_order() -> None:
    app = App(openapi_url=None)

    @app.get("/files/{rest:path}")
    def files(rest: str) -> str:
        return rest

    @app.get("/about")
    def about() -> str:
        return "about"

    @app.route("/items/{item_id:int}", methods=["GET", "PUT"])
    def item(item_id: int) -> int:
        return item_id

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None: ...

    names = [compiled.route.name for compiled in app.compiled_routes()]
    assert names == ["files", "about", "item", "ws"]


def test_app_settings_are_kept() -> None:
    app = App(title="Shop", version="2.0", description="A shop", debug=True, max_body_size=10)
    assert (app.title, app.version, app.description) == ("Shop", "2.0", "A shop")
    assert app.debug is True
    assert app.max_body_size == 10


def test_app_state_is_shared_with_handlers() -> None:
    app = App()
    app.state.greeting = "hi"

    @app.get("/")
    async def index(request: Request) -> str:
        assert request.app is app
        return str(request.app.state.greeting)

    with TestClient(app) as client:
        assert client.get("/").text == "hi"


def test_unknown_scope_types_are_ignored() -> None:
    app = App()
    app.build()

    async def receive() -> dict[str, Any]:
        raise AssertionError("must not be called")

    async def send(message: Any) -> None:
        raise AssertionError("must not be called")

    asyncio.run(app({"type": "something-else"}, receive, send))


def test_servers_see_an_asgi3_app() -> None:
    """uvicorn, hypercorn and asgiref tell ASGI 3 from ASGI 2 (or WSGI) by whether
    ``app.__call__`` is a coroutine function; called that way, it serves as ``app(...)`` does."""
    from uvicorn.config import Config

    app = App()

    @app.get("/")
    async def index() -> str:
        return "hi"

    assert inspect.iscoroutinefunction(app.__call__)  # hypercorn, uvicorn on Python 3.14
    config = Config(app, log_config=None)
    config.load()
    assert config.interface == "asgi3"

    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    for call in (app, app.__call__):
        sent.clear()
        scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}
        asyncio.run(call(scope, receive, send))
        assert [m.get("status") or m.get("body") for m in sent] == [200, b"hi"]


# ------------------------------------------------------------------ middleware


class _Tag:
    """A pure ASGI middleware appending its name to a response header."""

    def __init__(self, app: Any, name: str) -> None:
        self.app = app
        self.name = name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def tagged(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message["headers"], (b"x-tag", self.name.encode())]
            await send(message)

        await self.app(scope, receive, tagged)


def test_middleware_order_last_added_runs_first() -> None:
    app = App(middleware=[(_Tag, {"name": "constructor"})])
    app.add_middleware(_Tag, name="first")
    app.add_middleware(_Tag, name="second")

    @app.get("/")
    def index() -> str:
        return "x"

    with TestClient(app) as client:
        # The innermost middleware sees the response start first and appends first.
        tags = client.get("/").headers.get_list("x-tag")
        assert tags == ["constructor", "first", "second"]


def test_plait_debug_turns_on_debug_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    # As coming-from-django.md says: PLAIT_DEBUG=1 is Django's DEBUG = True.
    def failing_app() -> App:
        app = App()

        @app.get("/")
        def index() -> str:
            raise RuntimeError("the detail only debug shows")

        return app

    monkeypatch.setenv("PLAIT_DEBUG", "1")
    with TestClient(failing_app()) as client:
        response = client.get("/", headers={"accept": "text/html"})
    assert response.status_code == 500
    assert "the detail only debug shows" in response.text
    monkeypatch.setenv("PLAIT_DEBUG", "0")
    assert App().debug is False
    with TestClient(failing_app()) as client:
        assert "the detail only debug shows" not in client.get("/").text
    assert App(debug=True).debug is True  # the argument wins
