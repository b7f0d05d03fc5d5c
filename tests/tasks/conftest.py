"""Fixtures of the plait.tasks tests: the brokers (RabbitMQ, Redis) with a queue of each
run's own, a PostgreSQL database for the effects, and ``plait worker``/``plait beat``/
``plait run`` processes started and stopped by the tests."""

from __future__ import annotations

import asyncio
import gc
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from tasks_helpers import Processes, delete_queue

from _services import new_postgres_database

HERE = Path(__file__).parent


@pytest.fixture(autouse=True)
def _collect_leaked_connections() -> Iterator[None]:
    """Collect what a test's event loop left behind before the next test starts.

    An in-process runner's aiosqlite connection or a broker transport is sometimes collected
    unclosed, at whatever moment the garbage collector runs (a known leak, see docs/tasks.md's
    Limits), and ``filterwarnings=error`` then fails an unrelated later test. Collecting here,
    with that one warning ignored, keeps the failure inside the tasks tests' own teardown.
    """
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


@pytest.fixture(scope="module")
def tasks_database() -> Iterator[str]:
    """A PostgreSQL database of this module's own (the effects, the outbox)."""
    with new_postgres_database("plait_tasks") as url:
        yield url


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    started = Processes(tmp_path, {})
    try:
        yield started
    finally:
        started.stop_all()


@pytest.fixture
def queue_name(request: pytest.FixtureRequest) -> Iterator[str]:
    """A queue (RabbitMQ) or stream (Redis) name of this test's own, deleted after it."""
    name = f"plait-test-{uuid.uuid4().hex[:10]}"
    yield name
    url = getattr(request.node, "broker_url", None)
    if url is not None:
        asyncio.run(delete_queue(url, name))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    """A failed test shows the logs of the processes it started."""
    report = yield
    if call.when == "call" and getattr(report, "failed", False):
        for fixture in ("deployment", "processes"):
            value = getattr(item, "funcargs", {}).get(fixture)
            started = getattr(value, "processes", value)
            if isinstance(started, Processes):
                for log in sorted(started.directory.glob("*.log")):
                    report.sections.append((f"log {log.name}", log.read_text()[-6000:]))
    return report
