"""Background work: runs after the response went out, sync in a thread, async on the loop."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from plait import (
    App,
    BackgroundTask,
    BackgroundTasks,
    HTTPException,
    PlainTextResponse,
    Request,
)
from plait._concurrency import iterate_in_threadpool, run_in_threadpool, set_threadpool_size
from plait.testing import TestClient
from plait.types import Message


def test_background_tasks_parameter_runs_after_the_response() -> None:
    app = App()
    order: list[str] = []

    def send_email(to: str, *, subject: str) -> None:
        order.append(f"email {to} {subject} in {threading.current_thread().name}")

    async def audit(entry: str) -> None:
        order.append(f"audit {entry}")

    @app.post("/signup")
    async def signup(tasks: BackgroundTasks) -> str:
        tasks.add_task(send_email, "ann@example.com", subject="welcome")
        tasks.add_task(audit, "signup")
        order.append("handler")
        return "ok"

    sent: list[str] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message["type"])
        order.append(message["type"])

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/signup",
        "root_path": "",
        "query_string": b"",
        "headers": [],
    }
    asyncio.run(app(scope, receive, send))
    assert order[:3] == ["handler", "http.response.start", "http.response.body"]
    assert order[3].startswith("email ann@example.com welcome in plait-sync")
    assert order[4] == "audit signup"


def test_background_tasks_through_the_test_client() -> None:
    app = App()
    done = threading.Event()

    @app.get("/")
    def index(tasks: BackgroundTasks, request: Request) -> str:
        tasks.add_task(done.set)
        return "queued"

    with TestClient(app) as client:
        assert client.get("/").text == "queued"
    assert done.is_set()


def test_same_background_tasks_object_for_every_parameter_of_a_request() -> None:
    app = App()
    seen: list[BackgroundTasks] = []

    @app.get("/")
    async def index(first: BackgroundTasks, second: BackgroundTasks) -> bool:
        seen.extend([first, second])
        return first is second

    with TestClient(app) as client:
        assert client.get("/").json() is True
        client.get("/")
    assert seen[0] is not seen[2]


def test_response_background_task_through_the_app() -> None:
    app = App()
    ran: list[str] = []

    @app.get("/")
    def index() -> PlainTextResponse:
        return PlainTextResponse("x", background=BackgroundTask(ran.append, "after"))

    with TestClient(app) as client:
        assert client.get("/").text == "x"
    assert ran == ["after"]


def test_background_task_objects() -> None:
    calls: list[Any] = []

    async def acall(*args: Any, **kwargs: Any) -> None:
        calls.append(("async", args, kwargs))

    task = BackgroundTask(acall, 1, key="v")
    assert task.is_async
    sync_task = BackgroundTask(lambda: calls.append("sync"))
    assert not sync_task.is_async
    tasks = BackgroundTasks([task, sync_task])
    tasks.add_task(acall, 2)

    asyncio.run(tasks())
    assert calls == [("async", (1,), {"key": "v"}), "sync", ("async", (2,), {})]
    assert BackgroundTasks().tasks == []


def test_tasks_of_a_failed_handler_do_not_run() -> None:
    app = App()
    ran: list[str] = []

    @app.post("/signup")
    def signup(tasks: BackgroundTasks) -> None:
        tasks.add_task(ran.append, "welcome email")
        raise HTTPException(409, "taken")

    @app.post("/crash")
    async def crash(tasks: BackgroundTasks) -> None:
        tasks.add_task(ran.append, "audit")
        raise RuntimeError("bug")

    with TestClient(app) as client:
        assert client.post("/signup").status_code == 409
        assert client.post("/crash").status_code == 500
    assert ran == []


def test_failing_background_task_does_not_change_the_response() -> None:
    app = App()

    @app.get("/")
    def index(tasks: BackgroundTasks) -> str:
        tasks.add_task(lambda: 1 / 0)
        return "sent"

    client = TestClient(app)
    try:
        # The response is complete before the task fails; the error surfaces to the server.
        with pytest.raises(ZeroDivisionError):
            client.get("/")
    finally:
        client.close()


# ------------------------------------------------------------------ the thread pool


def test_run_in_threadpool_carries_context_variables() -> None:
    import contextvars

    var: contextvars.ContextVar[str] = contextvars.ContextVar("var")

    def read() -> tuple[str, str]:
        return var.get(), threading.current_thread().name

    async def main() -> tuple[str, str]:
        var.set("from the loop")
        return await run_in_threadpool(read)

    value, thread = asyncio.run(main())
    assert value == "from the loop"
    assert thread.startswith("plait-sync")


def test_iterate_in_threadpool() -> None:
    async def main() -> list[int]:
        return [item async for item in iterate_in_threadpool(iter([1, 2, 3]))]

    assert asyncio.run(main()) == [1, 2, 3]


def test_set_threadpool_size_bounds_concurrency() -> None:
    running = 0
    peak = 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        threading.Event().wait(0.02)
        with lock:
            running -= 1

    async def main() -> None:
        await asyncio.gather(*(run_in_threadpool(work) for _ in range(6)))

    try:
        set_threadpool_size(2)
        asyncio.run(main())
        assert peak == 2
        with pytest.raises(ValueError, match="at least one thread"):
            set_threadpool_size(0)
    finally:
        set_threadpool_size(40)
