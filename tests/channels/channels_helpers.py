"""The channels tests' helpers: the Redis server they use, and waiting for a condition.

(Its own module name, not ``conftest``: test directories that ``from conftest import`` would
otherwise get whichever conftest module was imported first.)"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

from _services import service_unavailable

__all__ = ["REDIS_URL", "eventually", "require_redis", "run_started"]

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


async def eventually(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    """Return once ``condition()`` is true; fail the test after ``seconds``."""
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition did not become true in time")


def run_started(app: Any, main: Callable[[], Awaitable[None]]) -> None:
    """Run ``main()`` in a new event loop while ``app`` is started (10 s at most)."""

    async def wrapped() -> None:
        await app.startup()
        try:
            await asyncio.wait_for(main(), 10)
        finally:
            await app.shutdown()

    asyncio.run(wrapped())
