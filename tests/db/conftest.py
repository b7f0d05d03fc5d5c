"""Fixtures for the data layer: every database test runs on SQLite and on PostgreSQL.

PostgreSQL is the server at 127.0.0.1:5432 (database ``test``, user ``postgres``; override
with ``PLAIT_TEST_POSTGRES_URL``). Each test session works in a database of its own, created
here and dropped at the end. When the server can't be reached its tests are skipped, with
the reason, unless ``PLAIT_REQUIRE_SERVICES=1`` (CI) makes that a failure.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

POSTGRES_URL = os.environ.get(
    "PLAIT_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


def service_unavailable(name: str, reason: str) -> None:
    """Skip the test because ``name`` is unreachable, or fail it when CI requires services."""
    message = f"{name} is not available: {reason}"
    if os.environ.get("PLAIT_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message} (PLAIT_REQUIRE_SERVICES=1: services are required)")
    pytest.skip(message)


def _server_url(database: str) -> str:
    base, _, _ = POSTGRES_URL.rpartition("/")
    return f"{base}/{database}"


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


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A database of this test session's own on the PostgreSQL server, dropped at the end."""
    require_postgres()
    name = f"plait_test_{uuid.uuid4().hex[:10]}"
    postgres_execute(POSTGRES_URL, f'CREATE DATABASE "{name}"')
    try:
        yield _server_url(name)
    finally:
        postgres_execute(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def reset_postgres(url: str) -> None:
    postgres_execute(url, "DROP SCHEMA public CASCADE", "CREATE SCHEMA public")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a fresh SQLite file, or the session's PostgreSQL database reset."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"
    url: str = request.getfixturevalue("postgres_server")
    reset_postgres(url)
    return url
