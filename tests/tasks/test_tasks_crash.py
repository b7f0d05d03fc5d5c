"""The embedded backend survives kill -9: the app's tasks wait in its database."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import pytest
from tasks_helpers import Processes, free_port, query, wait_for

pytestmark = [pytest.mark.postgres]


def serve(processes: Processes, port: int, log: str) -> None:
    server = processes.start("run", "tasks_app:app", "--app-dir", ".", "--port", str(port), log=log)
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return
        except httpx.TransportError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(processes.log(log)) from None
            time.sleep(0.1)


def test_kill_9_the_app_with_tasks_pending_then_restart(
    tasks_database: str, tmp_path: Path
) -> None:
    env = {"TASKS_TEST_DATABASE": tasks_database, "TASKS_TEST_QUEUE": "unused"}
    processes = Processes(tmp_path, env)
    run = uuid.uuid4().hex[:8]
    port = free_port()
    try:
        serve(processes, port, "first.log")
        for i in range(30):  # 0.5 s each, 10 at a time: 1.5 s of work
            response = httpx.post(
                f"http://127.0.0.1:{port}/sleepy", params={"key": f"{run}-{i}"}, timeout=10
            )
            assert response.status_code == 202
        processes.kill(processes.running[0])  # kill -9: ten running, twenty waiting
        done = query(
            tasks_database, "SELECT key FROM tasks_test_effect WHERE key LIKE :p", p=f"{run}%"
        )
        assert len(done) < 30
        serve(processes, port, "second.log")

        def completed() -> set[str]:
            rows = query(
                tasks_database, "SELECT key FROM tasks_test_effect WHERE key LIKE :p", p=f"{run}%"
            )
            return {row.key for row in rows}

        # The ones the dead process held wait out its lease (timeout 3 s + 5 s).
        wait_for(lambda: len(completed()) == 30, timeout=40)
        assert query(tasks_database, "SELECT id FROM plait_task WHERE state = 'pending'") == []
    finally:
        processes.stop_all()
