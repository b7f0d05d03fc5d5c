"""Every rate-limit test runs on each storage: this process's memory and the real Redis.

Redis tests count under a key prefix of their own and delete only their own keys.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ratelimit_services import LimiterFactory

from _services import REDIS_URL, redis_key_prefix
from plait import App
from plait.ratelimit import RateLimiter


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    with redis_key_prefix("plait-test-ratelimit") as prefix:
        yield prefix.rstrip(":")


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def make_limiter(request: pytest.FixtureRequest) -> LimiterFactory:
    """Builds limiters on one storage kind. Redis limiters made by one factory count
    together, as the processes of one app would; memory ones each count alone."""
    if request.param == "memory":

        def make_memory(app: App | None = None, **options: object) -> RateLimiter:
            return RateLimiter(app, storage="memory://", **options)  # type: ignore[arg-type]

        return make_memory
    prefix = request.getfixturevalue("redis_prefix")

    def make_redis(app: App | None = None, **options: object) -> RateLimiter:
        return RateLimiter(app, storage=REDIS_URL, prefix=prefix, **options)  # type: ignore[arg-type]

    return make_redis
