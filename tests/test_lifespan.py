"""Lifespan: start-up and shutdown hooks, the lifespan= context manager, failures."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from plait import App, Request
from plait.testing import AsyncTestClient, TestClient
from plait.types import Message


def test_startup_and_shutdown_decorators_sync_and_async() -> None:
    events: list[str] = []
    app = App()

    @app.on_startup
    def sync_start() -> None:
        events.append("sync start")

    @app.on_startup
    async def async_start() -> None:
        await asyncio.sleep(0)
        events.append("async start")

    @app.on_shutdown
    async def async_stop() -> None:
        events.append("async stop")

    @app.on_shutdown
    def sync_stop() -> None:
        events.append("sync stop")

    @app.get("/")
    def index() -> list[str]:
        return events

    assert sync_start.__name__ == "sync_start"  # the decorators return the function
    with TestClient(app) as client:
        assert client.get("/").json() == ["sync start", "async start"]
        assert events == ["sync start", "async start"]
    assert events == ["sync start", "async start", "async stop", "sync stop"]


def test_hooks_given_to_the_constructor() -> None:
    events: list[str] = []
    app = App(on_startup=[lambda: events.append("up")], on_shutdown=[lambda: events.append("down")])
    with TestClient(app):
        assert events == ["up"]
    assert events == ["up", "down"]


def test_lifespan_context_manager_yielding_state() -> None:
    events: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: App) -> AsyncIterator[dict[str, Any]]:
        events.append(f"enter {app.title}")
        yield {"db": "connection", "limit": 5}
        events.append("exit")

    app = App(title="shop", lifespan=lifespan)

    @app.on_startup
    def hook() -> None:
        events.append("hook")

    @app.on_shutdown
    def stop_hook() -> None:
        events.append("stop hook")

    @app.get("/")
    def index(request: Request) -> dict[str, Any]:
        return {"db": request.app.state.db, "limit": request.app.state.limit}

    with TestClient(app) as client:
        assert client.get("/").json() == {"db": "connection", "limit": 5}
        assert events == ["hook", "enter shop"]
    assert events == ["hook", "enter shop", "exit", "stop hook"]


def test_lifespan_yielding_nothing_sets_no_state() -> None:
    @contextlib.asynccontextmanager
    async def lifespan(app: App) -> AsyncIterator[None]:
        yield

    app = App(lifespan=lifespan)
    with TestClient(app):
        assert not hasattr(app.state, "db")


def test_failing_startup_hook_makes_the_test_client_raise(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = App()
    stopped: list[str] = []

    @app.on_startup
    def broken() -> None:
        raise ConnectionError("database unreachable")

    @app.on_shutdown
    def stop() -> None:
        stopped.append("stop")

    with pytest.raises(RuntimeError, match="start-up failed: ConnectionError"), TestClient(app):
        pass
    assert "Application start-up failed" in caplog.text
    assert stopped == []


def test_failing_lifespan_context_makes_the_test_client_raise() -> None:
    @contextlib.asynccontextmanager
    async def lifespan(app: App) -> AsyncIterator[None]:
        raise OSError("no config")
        yield  # pragma: no cover

    with pytest.raises(RuntimeError, match="no config"), TestClient(App(lifespan=lifespan)):
        pass


def test_failing_shutdown_is_reported() -> None:
    app = App()

    @app.on_shutdown
    def broken() -> None:
        raise ValueError("could not flush")

    with pytest.raises(ValueError, match="could not flush"), TestClient(app):
        pass


def test_conflicting_routes_fail_at_lifespan_start_up() -> None:
    app = App()
    app.get("/x")(lambda: "a")
    app.get("/x")(lambda: "b")
    with pytest.raises(RuntimeError, match="Conflicting routes"), TestClient(app):
        pass


def test_startup_and_shutdown_without_a_server() -> None:
    events: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: App) -> AsyncIterator[dict[str, str]]:
        events.append("enter")
        yield {"cache": "warm"}
        events.append("exit")

    app = App(lifespan=lifespan, on_shutdown=[lambda: events.append("down")])

    async def main() -> None:
        await app.startup()
        assert app.state.cache == "warm"
        assert events == ["enter"]
        await app.shutdown()
        await app.shutdown()  # a second call does nothing

    asyncio.run(main())
    assert events == ["enter", "exit", "down"]


def _lifespan_run(app: App, messages: list[Message]) -> list[Message]:
    sent: list[Message] = []
    inbox = list(messages)

    async def receive() -> Message:
        return inbox.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    async def main() -> None:
        await app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)

    asyncio.run(main())
    return sent


def test_raw_lifespan_protocol() -> None:
    app = App()
    sent = _lifespan_run(app, [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]


def test_raw_lifespan_ignores_an_unexpected_first_message() -> None:
    assert _lifespan_run(App(), [{"type": "lifespan.shutdown"}]) == []


def test_raw_lifespan_startup_failure_message() -> None:
    app = App(on_startup=[lambda: 1 / 0])
    sent = _lifespan_run(app, [{"type": "lifespan.startup"}])
    assert sent == [
        {"type": "lifespan.startup.failed", "message": "ZeroDivisionError('division by zero')"}
    ]


def test_raw_lifespan_cancelled_start_up_is_reported_and_propagates() -> None:
    async def cancelled() -> None:
        raise asyncio.CancelledError

    app = App(on_startup=[cancelled])
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        sent.append(message)

    async def main() -> None:
        await app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(main())
    assert sent == [{"type": "lifespan.startup.failed", "message": "CancelledError()"}]


def test_raw_lifespan_shutdown_failure_is_sent_then_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = App(on_shutdown=[lambda: 1 / 0])
    with pytest.raises(ZeroDivisionError):
        _lifespan_run(app, [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    assert "Application shutdown failed" in caplog.text
    assert "start-up failed" not in caplog.text


def test_lifespan_passes_through_middleware_once_built() -> None:
    seen: list[str] = []

    class Spy:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            seen.append(scope["type"])
            await self.app(scope, receive, send)

    app = App()
    app.add_middleware(Spy)
    app.build()
    sent = _lifespan_run(app, [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    assert sent[-1] == {"type": "lifespan.shutdown.complete"}
    assert seen == ["lifespan"]


def test_async_test_client_runs_the_lifespan() -> None:
    events: list[str] = []
    app = App(on_startup=[lambda: events.append("up")], on_shutdown=[lambda: events.append("down")])

    @app.get("/")
    async def index() -> list[str]:
        return events

    async def main() -> Any:
        async with AsyncTestClient(app) as client:
            return (await client.get("/")).json()

    assert asyncio.run(main()) == ["up"]
    assert events == ["up", "down"]


def test_async_test_client_startup_and_shutdown_failures() -> None:
    async def start_fails() -> None:
        async with AsyncTestClient(App(on_startup=[lambda: 1 / 0])):
            pass

    with pytest.raises(RuntimeError, match="start-up failed: ZeroDivisionError"):
        asyncio.run(start_fails())

    async def stop_fails() -> None:
        async with AsyncTestClient(App(on_shutdown=[lambda: 1 / 0])):
            pass

    with pytest.raises(ZeroDivisionError):
        asyncio.run(stop_fails())


def test_a_failed_start_up_stops_what_had_started(caplog: pytest.LogCaptureFixture) -> None:
    app = App()
    events: list[str] = []

    @app.on_startup
    def open_pool() -> None:
        events.append("pool opened")

    @app.on_shutdown
    def close_pool() -> None:
        events.append("pool closed")

    @app.on_shutdown
    async def close_broken() -> None:
        raise OSError("cannot close")  # logged; the start-up error is what is reported

    @app.on_startup
    def connect_cache() -> None:
        raise ConnectionError("cache unreachable")

    @app.on_shutdown
    def close_cache() -> None:
        events.append("cache closed")  # its start-up never finished: not run

    with pytest.raises(RuntimeError, match="ConnectionError"), TestClient(app):
        pass
    assert events == ["pool opened", "pool closed"]
    assert "cannot close" in caplog.text


def test_a_failed_lifespan_context_stops_every_started_hook() -> None:
    events: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: App) -> AsyncIterator[None]:
        raise OSError("no config")
        yield  # pragma: no cover

    app = App(
        lifespan=lifespan,
        on_startup=[lambda: events.append("up")],
        on_shutdown=[lambda: events.append("down")],
    )

    async def main() -> None:
        with pytest.raises(OSError, match="no config"):
            await app.startup()

    asyncio.run(main())
    assert events == ["up", "down"]
