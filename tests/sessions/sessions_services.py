"""The Redis server the sessions tests use (127.0.0.1:6379, database 15; override with
``PLAIT_TEST_REDIS_URL``), and the rule for a missing one: ``service_unavailable``."""

from __future__ import annotations

import os
from collections.abc import Callable

from _services import service_unavailable
from plait import Request
from plait.sessions import SessionData, SessionStore

__all__ = [
    "REDIS_URL",
    "SECRET",
    "StoreFactory",
    "require_redis",
    "session_of",
]

REDIS_URL = os.environ.get("PLAIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SECRET = "a-test-secret-key-that-is-long-enough-for-plait"

StoreFactory = Callable[[], SessionStore]

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


def session_of(request: Request) -> SessionData:
    """``request.session`` as the battery's type (the core types it as a mapping)."""
    session = request.session
    assert isinstance(session, SessionData)
    return session
