"""Helpers of the plait.tasks tests: the brokers, free ports, ``plait`` processes, and
effects counted in the database.

A module of its own name, not ``conftest``: ``from conftest import`` resolves to whichever
conftest is imported first (tests/channels has one too), so the test modules import these.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from _services import service_unavailable

__all__ = [
    "BROKERS",
    "Processes",
    "delete_queue",
    "free_port",
    "query",
    "require_broker",
    "wait_for",
]

HERE = Path(__file__).parent


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


async def delete_queue(url: str, queue: str) -> None:
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def query(url: str, sql: str, **params: Any) -> list[Any]:
    """Rows of ``sql`` on the database at ``url`` (a fresh engine: any loop, any process)."""

    async def run() -> list[Any]:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as connection:
                result = await connection.execute(sa.text(sql), params)
                return list(result.all()) if result.returns_rows else []
        finally:
            await engine.dispose()

    return asyncio.run(run())


def wait_for(check: Callable[[], Any], timeout: float = 15.0, interval: float = 0.1) -> Any:
    """Call ``check`` until it returns something true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still {value!r} after {timeout} s")
        time.sleep(interval)
