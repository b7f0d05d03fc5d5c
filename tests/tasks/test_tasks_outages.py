"""Outages: a broker that is down costs no request and loses no task; a database that is
down is a 503 with Retry-After."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tasks_app import TasksApp
from tasks_helpers import free_port, query, require_broker, wait_for

from plait import App
from plait.db import Database
from plait.tasks import Tasks
from plait.testing import TestClient


class Proxy:
    """A TCP forwarder from ``port`` to Redis, started when the test says (the "recovery")."""

    def __init__(self, port: int, target: int) -> None:
        self.port, self.target = port, target
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server: asyncio.Server | None = None

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target)
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
        )

    def start(self) -> None:
        async def serve() -> None:
            self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port)

        self.thread.start()
        asyncio.run_coroutine_threadsafe(serve(), self.loop).result(5)

    def stop(self) -> None:
        if self.thread.is_alive():
            if self.server is not None:
                self.loop.call_soon_threadsafe(self.server.close)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
        self.loop.close()


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    forwarder = Proxy(free_port(), 6379)
    yield forwarder
    forwarder.stop()


def test_a_broker_outage_keeps_tasks_in_the_outbox_until_it_is_back(
    proxy: Proxy, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    require_broker("redis")
    database = f"sqlite+aiosqlite:///{tmp_path / 'outage.sqlite3'}"
    queue = f"plait-test-{uuid.uuid4().hex[:10]}"
    made = TasksApp(database, f"redis://127.0.0.1:{proxy.port}/0", queue)
    caplog.set_level(logging.INFO, logger="plait.tasks")
    import redis

    stream = redis.Redis(host="127.0.0.1")
    try:
        with TestClient(made.app) as client:
            for key in ("a", "b", "c"):
                assert client.post("/record", params={"key": key}).status_code == 202
            rows = query(database, "SELECT state FROM plait_task")
            assert [row.state for row in rows] == ["outbox"] * 3
            down = [r for r in caplog.records if "is unavailable" in r.getMessage()]
            assert len(down) == 1  # one line for the outage, not one per request
            proxy.start()  # the broker is back: the relay publishes, no restart
            wait_for(lambda: query(database, "SELECT id FROM plait_task") == [], timeout=20)
            assert stream.xlen(queue) == 3
            assert any("is back" in r.getMessage() for r in caplog.records)
    finally:
        stream.delete(queue)
        stream.close()


def test_a_database_outage_is_a_503(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    app = App()
    Database(app, f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nowhere")
    tasks = Tasks(app)

    @tasks.task
    async def ping() -> None: ...

    @app.post("/ping", status_code=202)
    async def enqueue_ping() -> None:
        await ping.enqueue()

    caplog.set_level(logging.INFO, logger="plait.outage")
    with TestClient(app) as client:
        for _ in range(3):
            response = client.post("/ping")
            assert response.status_code == 503
            assert "retry-after" in response.headers
    outage_lines = [r for r in caplog.records if r.name == "plait.outage"]
    assert len(outage_lines) == 1  # one line for the outage, not one per request
