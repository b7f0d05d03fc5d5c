"""The database servers the tests use (every battery's), and what to do when one is missing.

PostgreSQL is the server at 127.0.0.1:5432 (database ``test``, user ``postgres``; override
with ``PLAIT_TEST_POSTGRES_URL``). :func:`service_unavailable` is the reusable rule for any
server a test needs (Redis too): skip with the reason, unless ``PLAIT_REQUIRE_SERVICES=1``
(CI) makes a missing server a failure.

This module sits in ``tests/`` next to the top ``conftest.py``, so pytest has put this
directory on ``sys.path`` and every test directory imports it as ``_services``; the
``postgres_server`` and ``db_url`` fixtures built on it are in ``tests/conftest.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import selectors
import socket
import struct
import threading
import uuid
from collections.abc import Iterator

import pytest

__all__ = [
    "POSTGRES_URL",
    "REDIS_URL",
    "TCPProxy",
    "new_postgres_database",
    "postgres_execute",
    "postgres_execute_async",
    "redis_key_prefix",
    "require_postgres",
    "require_redis",
    "reset_postgres",
    "server_url",
    "service_unavailable",
]

POSTGRES_URL = os.environ.get(
    "PLAIT_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("PLAIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
"""The Redis server the tests use (database 15); each test works under a key prefix of its
own and deletes only its own keys (the server is shared: never flush it)."""


def service_unavailable(name: str, reason: str) -> None:
    """Skip the test because ``name`` is unreachable, or fail it when CI requires services."""
    message = f"{name} is not available: {reason}"
    if os.environ.get("PLAIT_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message} (PLAIT_REQUIRE_SERVICES=1: services are required)")
    pytest.skip(message)


async def postgres_execute_async(url: str, *statements: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(dsn, timeout=3)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def postgres_execute(url: str, *statements: str) -> None:
    """Run SQL statements on PostgreSQL outside any app (database set-up)."""
    asyncio.run(postgres_execute_async(url, *statements))


_checked: dict[str, str | None] = {}


def _postgres_problem() -> str | None:
    if "result" not in _checked:
        try:
            postgres_execute(POSTGRES_URL, "SELECT 1")
            _checked["result"] = None
        except ImportError:
            _checked["result"] = "asyncpg is not installed (pip install 'plait[postgres]')"
        except Exception as exc:  # refused, timed out, bad credentials…
            _checked["result"] = f"{POSTGRES_URL}: {type(exc).__name__}: {exc}"
    return _checked["result"]


def require_postgres() -> None:
    """Skip (or in CI fail) the calling test when PostgreSQL can't be reached."""
    problem = _postgres_problem()
    if problem is not None:
        service_unavailable("PostgreSQL", problem)


def reset_postgres(url: str) -> None:
    """Empty a test database: drop and recreate its public schema."""
    postgres_execute(url, "DROP SCHEMA public CASCADE", "CREATE SCHEMA public")


def server_url(database: str) -> str:
    """The URL of ``database`` on the test PostgreSQL server."""
    base, _, _ = POSTGRES_URL.rpartition("/")
    return f"{base}/{database}"


@contextlib.contextmanager
def new_postgres_database(prefix: str = "plait_test") -> Iterator[str]:
    """A new database on the PostgreSQL server (skipping when there is none), dropped after."""
    require_postgres()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    postgres_execute(POSTGRES_URL, f'CREATE DATABASE "{name}"')
    try:
        yield server_url(name)
    finally:
        postgres_execute(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_redis_problem: dict[str, str | None] = {}


def require_redis() -> None:
    """Skip (or in CI fail) the calling test when the Redis server can't be reached."""
    if "result" not in _redis_problem:
        import redis

        try:
            client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
            client.ping()
            client.close()
            _redis_problem["result"] = None
        except redis.RedisError as exc:
            _redis_problem["result"] = f"{REDIS_URL}: {type(exc).__name__}: {exc}"
    problem = _redis_problem["result"]
    if problem is not None:
        service_unavailable("Redis", problem)


@contextlib.contextmanager
def redis_key_prefix(name: str = "plait-test") -> Iterator[str]:
    """A key prefix of the caller's own on the Redis server; its keys are deleted after."""
    require_redis()
    import redis

    prefix = f"{name}:{uuid.uuid4().hex[:10]}:"
    try:
        yield prefix
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
        client.close()


class TCPProxy:
    """A TCP forwarder to a real server, to be switched off and on: an outage of that server
    for one test, without touching the shared server itself.

    ::

        with TCPProxy("127.0.0.1", 6379) as proxy:       # Redis at 127.0.0.1:{proxy.port}
            proxy.stop()    # refused connections, and open ones cut: the outage
            proxy.start()   # the same port forwards again: the recovery
    """

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port: int = probe.getsockname()[1]
        probe.close()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._running = False

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.setblocking(False)
        self._listener, self._running = listener, True
        self._thread = threading.Thread(target=self._serve, args=(listener,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Close the port and cut every forwarded connection."""
        self._running = False
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _serve(self, listener: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(listener, selectors.EVENT_READ, None)
        pairs: dict[socket.socket, socket.socket] = {}
        try:
            while self._running:
                for key, _ in selector.select(0.05):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    if sock is listener:
                        client, _ = listener.accept()
                        upstream = socket.create_connection(self.target, timeout=3)
                        pairs[client], pairs[upstream] = upstream, client
                        for end in (client, upstream):
                            end.setblocking(True)
                            selector.register(end, selectors.EVENT_READ, None)
                        continue
                    try:
                        data = sock.recv(65536)
                        if data:
                            pairs[sock].sendall(data)
                            continue
                    except OSError:
                        pass
                    other = pairs.pop(sock)
                    pairs.pop(other, None)
                    for end in (sock, other):
                        selector.unregister(end)
                        end.close()
        finally:
            for end in list(pairs):
                with contextlib.suppress(OSError):
                    # A reset, as when the server dies, rather than an orderly close.
                    end.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                end.close()
            listener.close()
            selector.close()

    def __enter__(self) -> TCPProxy:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
