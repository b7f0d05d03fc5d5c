"""docs/cache.md runs, and plait.cache's public surface is frozen."""

from __future__ import annotations

from _docs import battery_tests

CACHE_API = {
    "DEFAULT_TTL",
    "Cache",
    "CacheBackend",
    "MemoryBackend",
    "RedisBackend",
    "default_backend",
}

test_page_code_runs, test_public_names_are_frozen, test_private_modules_declare_all = battery_tests(
    "cache", CACHE_API, ["_backends", "_cache", "_page", "_redis"], min_tests=4
)
