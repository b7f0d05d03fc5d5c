"""plait.tasks on the real RabbitMQ and the real Redis: ``plait worker`` runs what the app
enqueues; effects are counted in PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tasks_app import TasksApp
from tasks_helpers import Processes, delete_queue, query, require_broker, wait_for

from plait.testing import AsyncTestClient, TestClient

pytestmark = [pytest.mark.postgres]


@dataclass
class Deployment:
    """An app (in this process) and one ``plait worker`` on a queue of their own."""

    database: str
    made: TasksApp
    client: TestClient
    processes: Processes
    env: dict[str, str]


@pytest.fixture(scope="module", params=["rabbitmq", "redis"])
def deployment(
    request: pytest.FixtureRequest, tasks_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    url = require_broker(request.param)
    queue = f"plait-test-{uuid.uuid4().hex[:10]}"
    env = {
        "TASKS_TEST_DATABASE": tasks_database,
        "TASKS_TEST_URL": url,
        "TASKS_TEST_QUEUE": queue,
        "TASKS_TEST_TICK": "1",
    }
    processes = Processes(tmp_path_factory.mktemp(request.param), env)
    made = TasksApp(tasks_database, url, queue)
    try:
        with TestClient(made.app) as client:
            processes.worker()
            yield Deployment(tasks_database, made, client, processes, env)
    finally:
        processes.stop_all()
        asyncio.run(delete_queue(url, queue))


def effects(database: str, kind: str, prefix: str) -> list[tuple[str, int]]:
    rows = query(
        database,
        "SELECT key, attempt FROM tasks_test_effect WHERE kind = :kind AND key LIKE :prefix "
        "ORDER BY key",
        kind=kind,
        prefix=f"{prefix}%",
    )
    return [(row.key, row.attempt) for row in rows]


def state(database: str, task_id: str) -> str | None:
    rows = query(database, "SELECT state FROM plait_task WHERE id = :id", id=task_id)
    return rows[0].state if rows else None


def enqueue(client: TestClient, name: str, *args: object, delay: float | None = None) -> str:
    response = client.post(f"/enqueue/{name}", json={"args": list(args), "delay": delay})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def test_a_handler_enqueues_and_a_worker_runs_it(deployment: Deployment) -> None:
    key = uuid.uuid4().hex
    response = deployment.client.post(
        "/record", params={"key": key}, headers={"X-Request-ID": f"req-{key}"}
    )
    assert response.status_code == 202
    wait_for(lambda: effects(deployment.database, "record", key) == [(key, 1)])
    rows = query(
        deployment.database, "SELECT request_id FROM tasks_test_effect WHERE key = :k", k=key
    )
    assert rows[0].request_id == f"req-{key}"
    # The worker's log lines carry the task's id and the enqueuing request's id.
    task_id = response.json()["id"]
    wait_for(
        lambda: f"[task {task_id}, request req-{key}]" in deployment.processes.log("worker.log")
    )


def test_retry_then_success(deployment: Deployment) -> None:
    key = uuid.uuid4().hex
    enqueue(deployment.client, "flaky", key, 2)
    wait_for(lambda: effects(deployment.database, "flaky", key) == [(key, 3)])


def test_retries_exhausted_dead_letter_the_task(deployment: Deployment) -> None:
    task_id = enqueue(deployment.client, "doomed", uuid.uuid4().hex)
    wait_for(lambda: state(deployment.database, task_id) == "failed")
    status = deployment.processes.start(
        "tasks", "status", "--app", "tasks_app:app", "--app-dir", ".", log="status.log"
    )
    assert status.wait(30) == 0, deployment.processes.log("status.log")
    report = deployment.processes.log("status.log")
    assert "queue 'plait-test-" in report
    assert "failed       " in report
    assert "periodic     tick (every 1 s)" in report
    row = query(
        deployment.database, "SELECT attempts, error FROM plait_task WHERE id = :id", id=task_id
    )[0]
    assert row.attempts == 3
    assert "never works" in row.error


def test_a_task_that_runs_too_long_is_cancelled(deployment: Deployment) -> None:
    key = uuid.uuid4().hex
    task_id = enqueue(deployment.client, "slow", key, 5.0)
    wait_for(lambda: state(deployment.database, task_id) == "failed")
    error = query(deployment.database, "SELECT error FROM plait_task WHERE id = :id", id=task_id)[
        0
    ].error
    assert "timeout of 0.5 s" in error
    assert effects(deployment.database, "slow", key) == []


def test_a_delayed_task_waits(deployment: Deployment) -> None:
    key = uuid.uuid4().hex
    started = time.monotonic()
    enqueue(deployment.client, "record", key, delay=1.5)
    wait_for(lambda: effects(deployment.database, "record", key) == [(key, 1)])
    assert time.monotonic() - started >= 1.5


def test_beat_runs_a_periodic_task(deployment: Deployment) -> None:
    before = len(query(deployment.database, "SELECT id FROM tasks_test_effect WHERE kind = 'tick'"))
    beat = deployment.processes.start("beat", "tasks_app:app", "--app-dir", ".", log="beat.log")
    try:
        wait_for(
            lambda: (
                len(
                    query(
                        deployment.database, "SELECT id FROM tasks_test_effect WHERE kind = 'tick'"
                    )
                )
                >= before + 2
            ),
            timeout=20,
        )
    finally:
        deployment.processes.kill(beat)


def test_rollback_enqueues_nothing(deployment: Deployment) -> None:
    bad, good = uuid.uuid4().hex, uuid.uuid4().hex
    assert deployment.client.post("/signup", params={"key": bad, "fail": True}).status_code == 409
    assert deployment.client.post("/signup", params={"key": good}).status_code == 201
    wait_for(lambda: effects(deployment.database, "record", good) == [(good, 1)])
    time.sleep(0.5)
    assert (
        query(deployment.database, "SELECT id FROM tasks_test_effect WHERE key = :k", k=bad) == []
    )


def test_an_outbox_row_left_by_a_crash_is_published(deployment: Deployment) -> None:
    # Committed, then the process died before publishing it: the relay publishes it.
    key = uuid.uuid4().hex
    query(
        deployment.database,
        "INSERT INTO plait_task (id, name, arguments, state, run_at, attempts, created_at) "
        "VALUES (:id, 'record', :a, 'outbox', 0, 0, 0)",
        id=uuid.uuid4().hex,
        a=f'{{"key":"{key}"}}'.encode(),
    )
    wait_for(lambda: effects(deployment.database, "record", key) == [(key, 1)])


@pytest.mark.parametrize("broker", ["rabbitmq", "redis"])
def test_a_killed_worker_loses_nothing_under_load(
    broker: str,
    tasks_database: str,
    queue_name: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """kill -9 a worker in the middle of its tasks: they run again, and 1,000 tasks
    enqueued by concurrent requests meanwhile all complete."""
    url = require_broker(broker)
    request.node.broker_url = url
    env = {
        "TASKS_TEST_DATABASE": tasks_database,
        "TASKS_TEST_URL": url,
        "TASKS_TEST_QUEUE": queue_name,
        "TASKS_TEST_REDELIVERY": "3",
    }
    processes = Processes(tmp_path, env)
    made = TasksApp(tasks_database, url, queue_name, redelivery_timeout=3)
    run = uuid.uuid4().hex[:8]

    async def post(client: AsyncTestClient, path: str, keys: list[str], **params: object) -> None:
        for key in keys:
            response = await client.post(path, params={"key": key, **params})
            assert response.status_code == 202

    async def enqueue(path: str, keys: list[str], **params: object) -> None:
        async with AsyncTestClient(made.app) as client:
            await asyncio.gather(*(post(client, path, keys[i::20], **params) for i in range(20)))

    records = [f"{run}-r{i:04}" for i in range(1000)]
    try:
        first = processes.worker(log="first.log")
        # Ten tasks of 1.5 s each: all in the worker's hands when it dies.
        asyncio.run(enqueue("/sleepy", [f"{run}-s{i}" for i in range(10)], seconds=1.5))
        processes.wait_for_line("first.log", "Executing task sleepy", first)
        time.sleep(0.3)
        processes.kill(first)  # kill -9 in the middle of the tasks
        assert effects(tasks_database, "sleepy", run) == []
        # 1,000 tasks from 20 concurrent clients while a new worker starts and runs.
        enqueuing = threading.Thread(target=asyncio.run, args=(enqueue("/record", records),))
        enqueuing.start()
        processes.worker(log="second.log")
        enqueuing.join(120)
        wait_for(lambda: len(effects(tasks_database, "sleepy", run)) == 10, timeout=30)
        wait_for(
            lambda: len({key for key, _ in effects(tasks_database, "record", run)}) == 1000,
            timeout=120,
        )
    finally:
        processes.stop_all()
