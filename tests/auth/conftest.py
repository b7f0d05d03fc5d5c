"""Fixtures for the auth tests: every database test runs on SQLite and on PostgreSQL (the
server at 127.0.0.1:5432, skipped with the reason when it can't be reached), as in tests/db."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from auth_services import (
    POSTGRES_URL,
    postgres_execute,
    require_postgres,
    reset_postgres,
    server_url,
)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A database of this test session's own on the PostgreSQL server, dropped at the end."""
    require_postgres()
    name = f"plait_test_auth_{uuid.uuid4().hex[:10]}"
    postgres_execute(POSTGRES_URL, f'CREATE DATABASE "{name}"')
    try:
        yield server_url(name)
    finally:
        postgres_execute(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a fresh SQLite file, or the session's PostgreSQL database reset."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"
    url: str = request.getfixturevalue("postgres_server")
    reset_postgres(url)
    return url
