"""Every cache test runs on each backend: this process's memory and the real Redis server.

Redis tests work under a key prefix of their own and delete only their own keys.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cache_services import CacheFactory

from _services import REDIS_URL, redis_key_prefix
from plait.cache import Cache, CacheBackend, MemoryBackend, RedisBackend


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    with redis_key_prefix("plait-test-cache") as prefix:
        yield prefix


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def make_cache(request: pytest.FixtureRequest) -> CacheFactory:
    """Builds caches on one backend kind; caches made by one factory share their data (two
    Redis clients, or one memory dict), as two processes of one app would."""
    if request.param == "memory":
        shared = MemoryBackend()

        def memory_backend() -> CacheBackend:
            return shared

        backends = memory_backend
        prefix = "test:"
    else:
        prefix = request.getfixturevalue("redis_prefix")

        def backends() -> CacheBackend:
            return RedisBackend(REDIS_URL)

    def make(app: object = None, **options: object) -> Cache:
        options.setdefault("prefix", prefix)
        return Cache(app, backend=backends(), **options)  # type: ignore[arg-type]

    return make
