"""Fixtures for the channels tests: Redis is the real server at 127.0.0.1:6379.

Every test gets a key prefix of its own, so runs on a shared server never hear each other.
"""

from __future__ import annotations

import os
import uuid

import pytest

from _services import service_unavailable

REDIS_URL = os.environ.get("PLAIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

_problem: dict[str, str | None] = {}


def require_redis() -> None:
    """Skip (or in CI fail) the calling test when the Redis server can't be reached."""
    if "result" not in _problem:
        import redis

        try:
            client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
            client.ping()
            client.close()
            _problem["result"] = None
        except redis.RedisError as exc:
            _problem["result"] = f"{REDIS_URL}: {type(exc).__name__}: {exc}"
    if _problem["result"] is not None:
        service_unavailable("Redis", _problem["result"])


@pytest.fixture
def redis_prefix() -> str:
    """A channel prefix of this test's own (pub/sub keeps no keys, so nothing to clean)."""
    require_redis()
    return f"plait-test:{uuid.uuid4().hex[:10]}:"
