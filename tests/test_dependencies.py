"""Dependency injection: kinds of dependencies, caching, cleanup order, scopes and overrides.

No ``from __future__ import annotations`` here: the dependencies are defined inside the
tests, and string annotations could only be resolved from module-level names.
"""

import threading
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import pytest

from plait import (
    App,
    BackgroundTasks,
    Depends,
    Header,
    HTTPException,
    Query,
    Request,
    Response,
    Router,
    WebSocket,
)
from plait.testing import TestClient
from plait.types import ASGIApp, Message, Receive, Scope, Send


class SendRecorder:
    """Pure ASGI middleware noting in ``events`` when the response has been fully sent."""

    def __init__(self, app: ASGIApp, events: list[str]) -> None:
        self.app = app
        self.events = events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def recording_send(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.events.append("response sent")

        await self.app(scope, receive, recording_send)


# ------------------------------------------------------------------ kinds of dependencies


def test_sync_async_class_and_callable_instance_dependencies() -> None:
    loop_threads: list[int] = []
    dep_threads: list[int] = []

    def sync_dep() -> str:
        dep_threads.append(threading.get_ident())
        return "sync"

    async def async_dep() -> str:
        return "async"

    class Pagination:
        def __init__(self, page: int = 1, size: Annotated[int, Query(le=50)] = 10) -> None:
            self.page = page
            self.size = size

    class Multiplier:
        def __init__(self, factor: int) -> None:
            self.factor = factor

        def __call__(self, n: int = 1) -> int:
            return n * self.factor

    triple = Multiplier(3)
    app = App()

    @app.get("/deps")
    async def deps(
        a: Annotated[str, Depends(sync_dep)],
        b: Annotated[str, Depends(async_dep)],
        pages: Annotated[Pagination, Depends()],
        explicit: Annotated[Pagination, Depends(Pagination)],
        tripled: Annotated[int, Depends(triple)],
    ) -> list[Any]:
        loop_threads.append(threading.get_ident())
        return [a, b, pages.page, pages.size, explicit is pages, tripled]

    with TestClient(app) as client:
        assert client.get("/deps").json() == ["sync", "async", 1, 10, True, 3]
        assert client.get("/deps?page=4&size=20&n=5").json() == [
            "sync",
            "async",
            4,
            20,
            True,
            15,
        ]
    # Sync dependencies run in the thread pool, never on the event loop.
    assert dep_threads
    assert loop_threads[0] not in dep_threads


def test_nested_dependencies_and_their_parameters_are_validated() -> None:
    def get_token(x_token: Annotated[str, Header()]) -> str:
        return x_token

    async def get_user(token: Annotated[str, Depends(get_token)], tenant: int) -> dict[str, Any]:
        return {"token": token, "tenant": tenant}

    async def get_scope(
        user: Annotated[dict[str, Any], Depends(get_user)], level: Annotated[int, Query(ge=1)] = 1
    ) -> str:
        return f"{user['token']}@{user['tenant']}:{level}"

    app = App()

    @app.get("/me")
    async def me(scope: Annotated[str, Depends(get_scope)], verbose: bool = False) -> list[Any]:
        return [scope, verbose]

    with TestClient(app) as client:
        response = client.get("/me?tenant=7&level=2&verbose=true", headers={"x-token": "tk"})
        assert response.json() == ["tk@7:2", True]
        response = client.get("/me?level=0&verbose=perhaps")
        assert response.status_code == 422
        # Every error of the dependencies and the handler, in one response.
        assert [e["loc"] for e in response.json()["errors"]] == [
            ["header", "x-token"],
            ["query", "tenant"],
            ["query", "level"],
            ["query", "verbose"],
        ]


def test_dependency_raising_http_exception_stops_the_request() -> None:
    called: list[str] = []

    async def require_admin(x_role: Annotated[str, Header()] = "user") -> None:
        if x_role != "admin":
            raise HTTPException(403, "Admins only")

    app = App()

    @app.delete("/everything")
    async def delete_everything(_: Annotated[None, Depends(require_admin)]) -> str:
        called.append("handler")
        return "gone"

    with TestClient(app) as client:
        response = client.delete("/everything")
        assert response.status_code == 403
        assert response.json()["detail"] == "Admins only"
        assert called == []
        assert client.delete("/everything", headers={"x-role": "admin"}).text == "gone"


# ------------------------------------------------------------------ caching


def test_dependencies_are_cached_per_request_unless_use_cache_is_false() -> None:
    calls: list[int] = []

    def counter() -> int:
        calls.append(1)
        return len(calls)

    def first(value: Annotated[int, Depends(counter)]) -> int:
        return value

    def fresh(value: Annotated[int, Depends(counter, use_cache=False)]) -> int:
        return value

    app = App()

    @app.get("/cached")
    def cached(a: Annotated[int, Depends(counter)], b: Annotated[int, Depends(first)]) -> list[int]:
        return [a, b]

    @app.get("/uncached")
    def uncached(
        a: Annotated[int, Depends(counter)], b: Annotated[int, Depends(fresh)]
    ) -> list[int]:
        return [a, b]

    with TestClient(app) as client:
        assert client.get("/cached").json() == [1, 1]
        assert client.get("/cached").json() == [2, 2]  # a new request, a new value
        assert client.get("/uncached").json() == [3, 4]
    assert len(calls) == 4


def test_cached_generator_is_entered_and_cleaned_up_once() -> None:
    events: list[str] = []

    async def session() -> AsyncIterator[str]:
        events.append("open")
        yield "session"
        events.append("close")

    def repo(s: Annotated[str, Depends(session)]) -> str:
        return f"repo({s})"

    app = App()

    @app.get("/")
    async def index(s: Annotated[str, Depends(session)], r: Annotated[str, Depends(repo)]) -> str:
        return f"{s} {r}"

    with TestClient(app) as client:
        assert client.get("/").text == "session repo(session)"
    assert events == ["open", "close"]


# ------------------------------------------------------------------ generators and cleanup


def test_generator_cleanup_runs_after_the_response_is_sent() -> None:
    events: list[str] = []

    async def async_resource() -> AsyncIterator[str]:
        events.append("async open")
        yield "A"
        events.append("async close")

    def sync_resource() -> Iterator[str]:
        events.append("sync open")
        yield "S"
        events.append("sync close")

    app = App()
    app.add_middleware(SendRecorder, events=events)

    @app.get("/")
    async def index(
        a: Annotated[str, Depends(async_resource)],
        s: Annotated[str, Depends(sync_resource)],
        tasks: BackgroundTasks,
    ) -> str:
        events.append("handler")
        tasks.add_task(events.append, "background task")
        return a + s

    with TestClient(app) as client:
        assert client.get("/").text == "AS"
    assert events == [
        "async open",
        "sync open",
        "handler",
        "response sent",
        "sync close",  # last opened, first closed
        "async close",
        "background task",
    ]


def test_cleanup_runs_even_when_sending_the_response_fails() -> None:
    # The client went away mid-response: the dependency's resources are still released.
    events: list[str] = []

    async def resource() -> AsyncIterator[str]:
        yield "R"
        events.append("closed")

    app = App()

    @app.get("/")
    async def index(r: Annotated[str, Depends(resource)]) -> str:
        return r

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def broken_send(message: Message) -> None:
        raise OSError("connection reset")

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "root_path": "",
        "query_string": b"",
        "headers": [],
    }
    import asyncio

    with pytest.raises(OSError, match="connection reset"):
        asyncio.run(app(scope, receive, broken_send))
    assert events == ["closed"]


def test_cleanup_failing_after_the_response_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def resource() -> AsyncIterator[str]:
        yield "R"
        raise RuntimeError("could not release")

    app = App()

    @app.get("/")
    async def index(r: Annotated[str, Depends(resource)]) -> str:
        return r

    with TestClient(app) as client:
        assert client.get("/").text == "R"
    assert "cleanup failed after the response to GET /" in caplog.text


def test_cleanup_sees_the_handler_exception_to_roll_back() -> None:
    events: list[str] = []

    async def transaction() -> AsyncIterator[list[str]]:
        events.append("begin")
        try:
            yield events
        except Exception as exc:
            events.append(f"rollback after {type(exc).__name__}")
            raise
        else:
            events.append("commit")

    app = App()
    app.add_middleware(SendRecorder, events=events)

    @app.post("/ok")
    async def ok(tx: Annotated[list[str], Depends(transaction)]) -> str:
        tx.append("write")
        return "ok"

    @app.post("/conflict")
    async def conflict(tx: Annotated[list[str], Depends(transaction)]) -> str:
        tx.append("write")
        raise HTTPException(409, "Already exists")

    @app.post("/crash")
    async def crash(tx: Annotated[list[str], Depends(transaction)]) -> str:
        raise RuntimeError("bug")

    with TestClient(app) as client:
        assert client.post("/ok").text == "ok"
        assert events == ["begin", "write", "response sent", "commit"]
        events.clear()
        response = client.post("/conflict")
        assert response.status_code == 409
        assert response.json()["detail"] == "Already exists"
        # On an error, the cleanup runs first, so that the rollback happens before the answer.
        assert events == ["begin", "write", "rollback after HTTPException", "response sent"]
        events.clear()
        assert client.post("/crash").status_code == 500
        assert events == ["begin", "rollback after RuntimeError", "response sent"]


def test_sync_generator_cleanup_sees_the_exception() -> None:
    seen: list[str] = []

    def resource() -> Iterator[int]:
        try:
            yield 1
        except HTTPException as exc:
            seen.append(f"saw {exc.status_code}")
            raise

    app = App()

    @app.get("/")
    def index(r: Annotated[int, Depends(resource)]) -> int:
        raise HTTPException(418)

    with TestClient(app) as client:
        assert client.get("/").status_code == 418
    assert seen == ["saw 418"]


def test_function_scope_cleans_up_before_the_response_and_can_fail_it() -> None:
    events: list[str] = []

    async def commit_on_exit(fail: bool = False) -> AsyncIterator[str]:
        yield "tx"
        events.append("commit")
        if fail:
            raise HTTPException(409, "Commit failed")

    app = App()
    app.add_middleware(SendRecorder, events=events)

    @app.post("/save")
    async def save(tx: Annotated[str, Depends(commit_on_exit, scope="function")]) -> str:
        events.append("handler")
        return "saved"

    with TestClient(app) as client:
        assert client.post("/save").text == "saved"
        assert events == ["handler", "commit", "response sent"]
        events.clear()
        response = client.post("/save?fail=true")
        assert response.status_code == 409
        assert response.json()["detail"] == "Commit failed"
        assert events == ["handler", "commit", "response sent"]


def test_depends_scope_is_checked() -> None:
    with pytest.raises(ValueError, match="scope"):
        Depends(lambda: None, scope="session")  # type: ignore[arg-type]


def test_handlers_cannot_be_generators() -> None:
    app = App()

    @app.get("/")
    def index() -> Iterator[str]:
        yield "no"

    with pytest.raises(TypeError, match="only dependencies may yield"):
        app.build()


# ------------------------------------------------------------------ app, router, route


def test_app_router_and_route_dependencies_run_in_order() -> None:
    order: list[str] = []

    def app_dep() -> None:
        order.append("app")

    async def router_dep(x_key: Annotated[str, Header()]) -> None:
        order.append(f"router:{x_key}")

    def include_dep() -> None:
        order.append("include")

    def route_dep() -> None:
        order.append("route")

    def param_dep() -> str:
        order.append("param")
        return "value"

    app = App(dependencies=[Depends(app_dep)])
    router = Router(prefix="/api", dependencies=[Depends(router_dep)])

    @router.get("/thing", dependencies=[Depends(route_dep)])
    async def thing(v: Annotated[str, Depends(param_dep)]) -> str:
        order.append("handler")
        return v

    app.include_router(router, dependencies=[Depends(include_dep)])

    @app.get("/plain")
    async def plain() -> str:
        order.append("plain")
        return "plain"

    with TestClient(app) as client:
        assert client.get("/api/thing", headers={"x-key": "k"}).text == "value"
        assert order == ["app", "include", "router:k", "route", "param", "handler"]
        order.clear()
        assert client.get("/plain").text == "plain"
        assert order == ["app", "plain"]
        order.clear()
        # The router dependency's own parameter is validated like the handler's.
        response = client.get("/api/thing")
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["header", "x-key"]
        assert order == []


def test_route_dependencies_must_be_depends() -> None:
    app = App()

    @app.get("/", dependencies=[lambda: None])
    async def index() -> str:
        return "x"

    with pytest.raises(TypeError, match=r"Depends\(\.\.\.\)"):
        app.build()


def test_route_dependencies_share_the_request_cache() -> None:
    calls: list[str] = []

    def authenticate() -> str:
        calls.append("auth")
        return "ada"

    app = App(dependencies=[Depends(authenticate)])

    @app.get("/")
    async def index(user: Annotated[str, Depends(authenticate)]) -> str:
        return user

    with TestClient(app) as client:
        assert client.get("/").text == "ada"
    assert calls == ["auth"]


# ------------------------------------------------------------------ overrides


def test_dependency_overrides_after_serving_then_cleared() -> None:
    def get_db() -> str:
        return "real"

    def get_repo(db: Annotated[str, Depends(get_db)]) -> str:
        return f"repo on {db}"

    app = App()

    @app.get("/db")
    async def db(repo: Annotated[str, Depends(get_repo)]) -> str:
        return repo

    with TestClient(app) as client:
        assert client.get("/db").text == "repo on real"

        def fake_db(name: str = "fake") -> str:
            return name

        app.dependency_overrides[get_db] = fake_db
        assert client.get("/db").text == "repo on fake"
        # The override's own parameters are bound and validated.
        assert client.get("/db?name=memory").text == "repo on memory"
        app.dependency_overrides[get_repo] = lambda: "stub repo"
        assert client.get("/db").text == "stub repo"
        del app.dependency_overrides[get_repo]
        assert client.get("/db").text == "repo on fake"
        app.dependency_overrides.clear()
        assert client.get("/db").text == "repo on real"


def test_override_with_a_generator_cleans_up() -> None:
    events: list[str] = []

    def get_db() -> str:
        return "real"

    async def test_db() -> AsyncIterator[str]:
        events.append("setup")
        yield "test"
        events.append("teardown")

    app = App()

    @app.get("/")
    async def index(db: Annotated[str, Depends(get_db)]) -> str:
        return db

    app.dependency_overrides[get_db] = test_db
    with TestClient(app) as client:
        assert client.get("/").text == "test"
    assert events == ["setup", "teardown"]


def test_overrides_apply_to_app_level_dependencies() -> None:
    def require_login(authorization: Annotated[str, Header()]) -> None:
        pass

    app = App(dependencies=[Depends(require_login)])

    @app.get("/")
    async def index() -> str:
        return "in"

    with TestClient(app) as client:
        assert client.get("/").status_code == 422
        app.dependency_overrides[require_login] = lambda: None
        assert client.get("/").text == "in"


# ------------------------------------------------------------------ injectables by type


def test_request_background_tasks_and_response_are_injected() -> None:
    done: list[str] = []

    def client_host(request: Request, tasks: BackgroundTasks) -> str:
        tasks.add_task(done.append, "from dependency")
        return str(request.headers.get("x-from", "?"))

    app = App()

    @app.get("/")
    async def index(
        request: Request,
        tasks: BackgroundTasks,
        response: Response,
        origin: Annotated[str, Depends(client_host)],
    ) -> dict[str, str]:
        tasks.add_task(done.append, "from handler")
        response.headers["x-origin"] = origin
        response.status_code = 202
        return {"path": request.url.path, "origin": origin}

    with TestClient(app) as client:
        response = client.get("/", headers={"x-from": "test"})
        assert response.status_code == 202
        assert response.headers["x-origin"] == "test"
        assert response.json() == {"path": "/", "origin": "test"}
    # One BackgroundTasks per request, shared by the dependency and the handler.
    assert done == ["from dependency", "from handler"]


def test_websocket_handlers_get_dependencies_and_parameters() -> None:
    def get_greeting(lang: str = "en") -> str:
        return {"en": "hello", "fr": "bonjour"}[lang]

    app = App()

    @app.websocket("/ws/{room}")
    async def chat(
        websocket: WebSocket, room: str, greeting: Annotated[str, Depends(get_greeting)]
    ) -> None:
        await websocket.accept()
        await websocket.send_text(f"{greeting} {room}")
        await websocket.close()

    with TestClient(app) as client, client.websocket_connect("/ws/lobby?lang=fr") as ws:
        assert ws.receive_text() == "bonjour lobby"


def test_request_parameter_on_a_websocket_route_is_refused() -> None:
    app = App()

    @app.websocket("/ws")
    async def ws(request: Request) -> None:
        pass

    with pytest.raises(TypeError, match="asks for a Request, but this endpoint receives"):
        app.build()


class _Client:
    def __init__(self, name: str) -> None:
        self.name = name

    @classmethod
    async def __plait_depends__(cls, request: Request, tag: str = "-") -> "_Client":
        return cls(f"{request.headers.get('x-client', 'anonymous')}{tag}")


def test_a_class_naming_its_dependency_is_built_by_it() -> None:
    app = App()

    @app.get("/whoami")
    def whoami(client: _Client, again: _Client) -> dict[str, object]:
        return {"name": client.name, "cached": client is again}

    with TestClient(app) as client:
        assert client.get("/whoami?tag=!", headers={"X-Client": "cli"}).json() == {
            "name": "cli!",
            "cached": True,
        }


def test_a_class_naming_its_dependency_can_be_overridden() -> None:
    app = App()

    @app.get("/whoami")
    def whoami(client: _Client) -> str:
        return client.name

    app.dependency_overrides[_Client.__plait_depends__] = lambda: _Client("stub")
    with TestClient(app) as client:
        assert client.get("/whoami").text == "stub"
