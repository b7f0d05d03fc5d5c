"""Fixtures for the sessions tests: every store, Redis being the real server at 127.0.0.1:6379.

A missing Redis server skips its tests with the reason (or fails them when
``PLAIT_REQUIRE_SERVICES=1``), by the data-layer tests' ``service_unavailable`` rule.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sessions_services import SECRET, StoreFactory

from _services import REDIS_URL, new_postgres_database, redis_key_prefix
from plait.db import Database
from plait.sessions import CookieStore, DatabaseStore, MemoryStore, RedisStore


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own on the Redis server; its keys are deleted after."""
    with redis_key_prefix() as prefix:
        yield prefix


def create_tables(url: str) -> None:
    async def main() -> None:
        db = Database(url=url)
        try:
            await db.create_all()
        finally:
            await db.disconnect()

    asyncio.run(main())


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """The session stores' own database on the PostgreSQL server (its tables made once, so not
    ``db_url``'s, which is emptied for each test), dropped at the end."""
    with new_postgres_database("plait_test_sessions") as url:
        create_tables(url)
        yield url


@pytest.fixture(
    params=[
        "cookie",
        "memory",
        pytest.param("redis", marks=pytest.mark.redis),
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    """Builds a fresh store of each kind (one per app: a client belongs to one event loop)."""
    if request.param == "cookie":
        return lambda: CookieStore(SECRET)
    if request.param == "memory":
        return MemoryStore
    if request.param == "redis":
        prefix: str = request.getfixturevalue("redis_prefix")
        return lambda: RedisStore(REDIS_URL, prefix=prefix)
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'sessions.sqlite3'}"
        create_tables(url)
    else:
        url = request.getfixturevalue("postgres_database")
    return lambda: DatabaseStore(Database(url=url))
