"""Fixtures for the sessions tests: every store, Redis being the real server at 127.0.0.1:6379.

A missing Redis server skips its tests with the reason (or fails them when
``PLAIT_REQUIRE_SERVICES=1``), by the data-layer tests' ``service_unavailable`` rule.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sessions_services import REDIS_URL, SECRET, StoreFactory, require_redis

from plait.sessions import CookieStore, MemoryStore, RedisStore


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own on the Redis server; its keys are deleted after."""
    require_redis()
    import redis

    prefix = f"plait-test:{uuid.uuid4().hex[:10]}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=prefix + "*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(params=["cookie", "memory", pytest.param("redis", marks=pytest.mark.redis)])
def make_store(request: pytest.FixtureRequest) -> StoreFactory:
    """Builds a fresh store of each kind (one per app: a Redis client belongs to one loop)."""
    if request.param == "cookie":
        return lambda: CookieStore(SECRET)
    if request.param == "memory":
        return MemoryStore
    prefix: str = request.getfixturevalue("redis_prefix")
    return lambda: RedisStore(REDIS_URL, prefix=prefix)
