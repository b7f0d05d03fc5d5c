"""Fixtures for the admin: every test runs on SQLite and on PostgreSQL (like tests/db).

The PostgreSQL rules are tests/db's: db_services.py (imported from there) skips the
PostgreSQL half when the server is missing, unless PLAIT_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "db"))

from db_services import (
    POSTGRES_URL,
    postgres_execute,
    require_postgres,
    reset_postgres,
    server_url,
)


@pytest.fixture(scope="session")
def admin_postgres_server() -> Iterator[str]:
    """A database of the admin tests' own on the PostgreSQL server, dropped at the end."""
    require_postgres()
    name = f"plait_admin_{uuid.uuid4().hex[:10]}"
    postgres_execute(POSTGRES_URL, f'CREATE DATABASE "{name}"')
    try:
        yield server_url(name)
    finally:
        postgres_execute(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a fresh SQLite file, or the PostgreSQL database reset."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'admin.sqlite3'}"
    url: str = request.getfixturevalue("admin_postgres_server")
    reset_postgres(url)
    return url
