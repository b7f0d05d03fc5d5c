"""Fixtures of the plait.tasks tests: the brokers (RabbitMQ, Redis) with a queue of each
run's own, a PostgreSQL database for the effects, and ``plait worker``/``plait beat``/
``plait run`` processes started and stopped by the tests."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from _services import new_postgres_database, service_unavailable

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


BROKERS = {
    "rabbitmq": "amqp://guest:guest@127.0.0.1:5672/",
    "redis": "redis://127.0.0.1:6379/0",
}


def _reachable(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def require_broker(name: str) -> str:
    url = BROKERS[name]
    port = 5672 if name == "rabbitmq" else 6379
    if not _reachable(port):
        service_unavailable(name, f"nothing listens on 127.0.0.1:{port}")
    return url


async def _delete_queue(url: str, queue: str) -> None:
    if url.startswith("amqp"):
        import aio_pika

        connection = await aio_pika.connect(url)
        async with connection:
            channel = await connection.channel()
            for name in (queue, f"{queue}.dead"):
                await channel.queue_delete(name)
            await channel.exchange_delete(queue)
    else:
        from redis.asyncio import Redis

        async with Redis.from_url(url) as redis:
            await redis.delete(queue)


@pytest.fixture(scope="module")
def tasks_database() -> Iterator[str]:
    """A PostgreSQL database of this module's own (the effects, the outbox)."""
    with new_postgres_database("plait_tasks") as url:
        yield url


class Processes:
    """``plait`` commands run for a test, each in its own process group, logged to files."""

    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.directory = directory
        self.env = env
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str, log: str, **env: str) -> subprocess.Popen[bytes]:
        path = self.directory / log
        with path.open("ab") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "plait", *args],
                env={**os.environ, **self.env, **env},
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=HERE,
            )
        self.running.append(process)
        return process

    def worker(self, log: str = "worker.log", **env: str) -> subprocess.Popen[bytes]:
        process = self.start("worker", "tasks_app:app", "--app-dir", str(HERE), log=log, **env)
        self.wait_for_line(log, "Listening started", process)
        return process

    def log(self, name: str) -> str:
        path = self.directory / name
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_for_line(
        self, log: str, text: str, process: subprocess.Popen[bytes], timeout: float = 20
    ) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log(log):
            if process.poll() is not None:
                raise AssertionError(f"{log}: exited with {process.returncode}:\n{self.log(log)}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{log}: no {text!r} after {timeout} s:\n{self.log(log)}")
            time.sleep(0.05)

    @staticmethod
    def kill(process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
        if process.poll() is None:
            os.killpg(process.pid, sig)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)

    def stop_all(self) -> None:
        for process in self.running:
            self.kill(process)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    started = Processes(tmp_path, {})
    try:
        yield started
    finally:
        started.stop_all()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def queue_name(request: pytest.FixtureRequest) -> Iterator[str]:
    """A queue (RabbitMQ) or stream (Redis) name of this test's own, deleted after it."""
    name = f"plait-test-{uuid.uuid4().hex[:10]}"
    yield name
    url = getattr(request.node, "broker_url", None)
    if url is not None:
        asyncio.run(_delete_queue(url, name))


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
