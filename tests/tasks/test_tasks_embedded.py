"""plait.tasks with no broker: tasks stored in the app's database and run in its process."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import pytest
from click.testing import CliRunner
from tasks_app import TasksApp
from tasks_helpers import query, wait_for

from plait import App, Depends, Request, Settings
from plait.cli import main
from plait.db import Database
from plait.tasks import TaskArgumentError, Tasks
from plait.testing import TestClient


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'tasks.sqlite3'}"


@pytest.fixture
def made(url: str) -> TasksApp:
    return TasksApp(url, None, "plait.tasks")


@pytest.fixture
def client(made: TasksApp) -> Iterator[TestClient]:
    with TestClient(made.app) as client:
        yield client


def effects(url: str, kind: str) -> list[tuple[str, int]]:
    return [
        (row.key, row.attempt)
        for row in query(url, "SELECT key, attempt FROM tasks_test_effect WHERE kind = :k", k=kind)
    ]


def enqueue(client: TestClient, name: str, *args: object, delay: float | None = None) -> str:
    response = client.post(f"/enqueue/{name}", json={"args": list(args), "delay": delay})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def states(url: str) -> dict[str, str]:
    return {row.id: row.state for row in query(url, "SELECT id, state FROM plait_task")}


def test_a_task_enqueued_by_a_handler_runs_in_the_app(
    url: str, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    response = client.post("/record", params={"key": "hello"}, headers={"X-Request-ID": "req-42"})
    assert response.status_code == 202
    wait_for(lambda: effects(url, "record") == [("hello", 1)])
    # The request's id travels with the task, into its log lines and its dependencies.
    assert query(url, "SELECT request_id FROM tasks_test_effect")[0].request_id == "req-42"
    line = next(r for r in caplog.records if r.getMessage() == "recording hello")
    assert line.request_id == "req-42"  # type: ignore[attr-defined]
    assert line.task_id == response.json()["id"]  # type: ignore[attr-defined]
    wait_for(lambda: states(url) == {})  # done and not kept: its row is gone


def test_retry_then_success(url: str, made: TasksApp, client: TestClient) -> None:
    enqueue(client, "flaky", "k", 2)
    wait_for(lambda: effects(url, "flaky") == [("k", 3)])


def test_retries_exhausted_dead_letters_the_task_then_retry_reruns_it(
    url: str, made: TasksApp, client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    task_id = enqueue(client, "doomed", "x")
    wait_for(lambda: states(url).get(task_id) == "failed")
    row = query(url, "SELECT attempts, error FROM plait_task")[0]
    assert row.attempts == 3  # the first try and 2 retries
    assert "x never works" in row.error
    # The CLI lists and retries dead letters (the app is found as plait run finds it).
    app_file = tmp_path / "cliapp.py"
    app_file.write_text(
        f"from tasks_app import TasksApp\napp = TasksApp({url!r}, None, 'plait.tasks').app\n"
    )
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    runner = CliRunner()
    listed = runner.invoke(main, ["tasks", "failed", "--app", f"{app_file}:app"])
    assert listed.exit_code == 0, listed.output
    assert task_id in listed.output
    assert "doomed  " in listed.output
    assert "tries=3" in listed.output
    status = runner.invoke(main, ["tasks", "status", "--app", f"{app_file}:app"])
    assert status.exit_code == 0, status.output
    assert "failed       1" in status.output
    retried = runner.invoke(main, ["tasks", "retry", task_id, "--app", f"{app_file}:app"])
    assert retried.exit_code == 0, retried.output
    assert states(url)[task_id] != "failed"  # queued again: the running app tries it anew
    wait_for(lambda: states(url).get(task_id) == "failed")
    missing = runner.invoke(main, ["tasks", "retry", "nope", "--app", f"{app_file}:app"])
    assert missing.exit_code == 1
    assert "No failed task" in missing.output


def test_a_task_that_runs_too_long_is_cancelled(
    url: str, made: TasksApp, client: TestClient
) -> None:
    task_id = enqueue(client, "slow", "late", 5.0)
    wait_for(lambda: states(url).get(task_id) == "failed", timeout=5)
    assert "timeout of 0.5 s" in query(url, "SELECT error FROM plait_task")[0].error
    assert effects(url, "slow") == []


def test_a_delayed_task_waits(url: str, made: TasksApp, client: TestClient) -> None:

    started = time.monotonic()
    enqueue(client, "record", "later", delay=1.0)
    assert effects(url, "record") == []
    wait_for(lambda: effects(url, "record") == [("later", 1)])
    assert time.monotonic() - started >= 1.0


def test_a_periodic_task_runs_on_its_schedule(url: str) -> None:
    made = TasksApp(url, None, "plait.tasks", tick=True)
    with TestClient(made.app):
        wait_for(lambda: len(effects(url, "tick")) >= 2, timeout=20)


def test_rollback_enqueues_nothing_and_commit_enqueues(url: str, client: TestClient) -> None:
    assert client.post("/signup", params={"key": "bad", "fail": True}).status_code == 409
    assert client.post("/signup", params={"key": "good"}).status_code == 201
    wait_for(lambda: effects(url, "record") == [("good", 1)])
    assert [row.key for row in query(url, "SELECT key FROM tasks_test_effect")] == [
        "good",
        "good",
    ]  # the sign-up's row and the task's; nothing of the rolled-back one
    assert states(url) == {}


def test_tasks_stored_before_a_crash_run_at_the_next_start(url: str, made: TasksApp) -> None:
    # A row committed by a process that died before running it (or before publishing it).
    with TestClient(made.app) as client:
        enqueue(client, "record", "warm")
        wait_for(lambda: effects(url, "record"))
    arguments = b'{"key":"orphan"}'
    query(
        url,
        "INSERT INTO plait_task (id, name, arguments, state, run_at, attempts, created_at) "
        "VALUES ('orphan1', 'record', :a, 'pending', 0, 0, 0)",
        a=arguments,
    )
    with TestClient(TasksApp(url, None, "plait.tasks").app):
        wait_for(lambda: ("orphan", 1) in effects(url, "record"))


def test_results_are_kept_for_tasks_that_return_something(client: TestClient) -> None:
    assert client.post("/double", params={"n": 21}).json() == 42


def test_eager_runs_inline_and_raises(made: TasksApp, url: str) -> None:
    made.tasks.eager = True
    with TestClient(made.app) as client:
        assert client.post("/double", params={"n": 4}).json() == 8
    with pytest.raises(RuntimeError, match="never works"):
        asyncio.run(made.doomed.enqueue("now"))  # errors reach the caller
    assert states(url) == {}  # nothing stored


def test_arguments_are_checked_when_enqueued(made: TasksApp) -> None:
    with pytest.raises(TaskArgumentError, match="Expected `str`, got `int`"):
        asyncio.run(made.record.enqueue(1))
    with pytest.raises(TaskArgumentError, match="missing a required argument"):
        asyncio.run(made.flaky.enqueue("k"))
    with pytest.raises(TaskArgumentError, match="unexpected keyword"):
        asyncio.run(made.record.enqueue("k", colour="red"))


class GreetingSettings(Settings):
    GREETING: str = "hello"
    secret_key_required = False


def get_settings() -> GreetingSettings:
    return GreetingSettings.load(environ={}, env_file=None)


def app_name(request: Request, settings: Annotated[GreetingSettings, Depends(get_settings)]) -> str:
    assert request.method == "TASK"
    return f"{settings.GREETING} from {request.url.path}"


def test_tasks_take_dependencies_like_handlers(url: str) -> None:
    app = App()
    Database(app, url, auto_migrate=True)
    tasks = Tasks(app)
    tasks.eager = True

    @tasks.task(name="greet")
    async def greet(name: str, greeting: Annotated[str, Depends(app_name)]) -> str:
        return f"{greeting}, {name}"

    assert greet.signature.parameters.keys() == {"name"}  # dependencies are not arguments

    async def run() -> str:
        return await (await greet.enqueue("Ada")).result()

    assert asyncio.run(run()) == "hello from /tasks/greet, Ada"
    app.dependency_overrides[get_settings] = lambda: GreetingSettings(GREETING="hi")
    assert asyncio.run(run()) == "hi from /tasks/greet, Ada"


def test_plait_worker_needs_a_broker(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_file = tmp_path / "workerapp.py"
    app_file.write_text(
        f"from tasks_app import TasksApp\napp = TasksApp({url!r}, None, 'plait.tasks').app\n"
    )
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    result = CliRunner().invoke(main, ["worker", f"{app_file}:app"])
    assert result.exit_code == 1
    assert "PLAIT_TASKS_URL is not set" in result.output


def test_kept_results_expire(url: str, made: TasksApp) -> None:
    with TestClient(made.app) as client:
        assert client.post("/double", params={"n": 1}).json() == 2
    assert list(states(url).values()) == ["done"]

    async def purge(when: float) -> None:
        await made.tasks.purge(when)
        await made.db.disconnect()

    asyncio.run(purge(time.time()))
    assert list(states(url).values()) == ["done"]  # younger than result_ttl
    asyncio.run(purge(time.time() + made.tasks.result_ttl + 1))
    assert states(url) == {}


def test_eager_tasks_need_no_database() -> None:
    app = App()
    tasks = Tasks(app)
    tasks.eager = True

    @tasks.task
    async def square(n: int) -> int:
        return n * n

    @app.get("/square/{n:int}")
    async def get_square(n: int) -> int:
        return await (await square.enqueue(n)).result()

    with TestClient(app) as client:
        assert client.get("/square/7").json() == 49


def test_without_a_database_start_up_says_what_is_missing() -> None:
    app = App()
    Tasks(app)
    client = TestClient(app)
    with pytest.raises(RuntimeError, match=r"app's database, and No database named 'default'"):
        client.__enter__()


def test_a_plain_function_task_runs_in_a_thread(url: str) -> None:
    import threading

    app = App()
    Database(app, url, auto_migrate=True)
    tasks = Tasks(app, poll_interval=0.1)
    seen: list[str] = []

    @tasks.task(name="blocking")
    def blocking(word: str) -> str:
        seen.append(threading.current_thread().name)
        return word.upper()

    @app.post("/blocking")
    async def run_blocking(word: str) -> str:
        return await (await blocking.enqueue(word)).result(timeout=10)

    with TestClient(app) as client:
        assert client.post("/blocking", params={"word": "quiet"}).text == "QUIET"
    assert seen
    assert seen[0] != "MainThread"
