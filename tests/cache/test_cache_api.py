"""plait.cache's API, on memory and on Redis: values, expiry, counters, get_or_set."""

from __future__ import annotations

import asyncio
import datetime
from pathlib import Path

import msgspec
import pytest
from cache_services import CacheFactory

from plait import Settings
from plait.cache import DEFAULT_TTL, Cache, MemoryBackend, RedisBackend, default_backend


class Item(msgspec.Struct):
    name: str
    price: float


def test_values_round_trip(make_cache: CacheFactory) -> None:
    async def scenario() -> None:
        cache = make_cache()
        try:
            assert await cache.get("missing") is None
            assert await cache.get("missing", "fallback") == "fallback"
            values = {
                "text": "thé",
                "number": 2.5,
                "count": 7,
                "list": [1, "two", None],
                "dict": {"a": {"b": [True]}},
                "bytes": b"\x00\xff",
            }
            for key, value in values.items():
                await cache.set(key, value)
            for key, value in values.items():
                assert await cache.get(key) == value
            await cache.set("item", Item("tea", 2.5))
            assert await cache.get("item") == {"name": "tea", "price": 2.5}
            assert await cache.get("item", type=Item) == Item("tea", 2.5)
            when = datetime.datetime(2026, 12, 7, tzinfo=datetime.UTC)
            await cache.set("when", when)
            assert await cache.get("when", type=datetime.datetime) == when
        finally:
            await cache.close()

    asyncio.run(scenario())


def test_ttl_expires_values(make_cache: CacheFactory) -> None:
    async def scenario() -> None:
        cache = make_cache()
        try:
            await cache.set("short", "soon gone", ttl=0.2)
            await cache.set("forever", "kept", ttl=None)
            await cache.set("default", "five minutes")
            assert await cache.get("short") == "soon gone"
            await asyncio.sleep(0.3)
            assert await cache.get("short") is None
            assert await cache.get("forever") == "kept"
            assert await cache.get("default") == "five minutes"
            with pytest.raises(ValueError, match="ttl"):
                await cache.set("bad", 1, ttl=0)
        finally:
            await cache.close()

    asyncio.run(scenario())


def test_delete_and_add(make_cache: CacheFactory) -> None:
    async def scenario() -> None:
        cache = make_cache()
        try:
            await cache.set("k", "v")
            assert await cache.delete("k") is True
            assert await cache.delete("k") is False
            assert await cache.get("k") is None
            assert await cache.add("k", "first") is True
            assert await cache.add("k", "second") is False
            assert await cache.get("k") == "first"
        finally:
            await cache.close()

    asyncio.run(scenario())


def test_incr_counts_atomically(make_cache: CacheFactory) -> None:
    async def scenario() -> None:
        cache = make_cache()
        try:
            assert await cache.incr("hits") == 1
            assert await cache.incr("hits", 5) == 6
            assert await cache.incr("hits", -2) == 4
            assert await cache.get("hits") == 4
            await cache.set("preset", 10)
            assert await cache.incr("preset") == 11
            await asyncio.gather(*(cache.incr("many") for _ in range(50)))
            assert await cache.get("many") == 50
            await cache.set("text", "not a number")
            with pytest.raises(ValueError, match="integer"):
                await cache.incr("text")
        finally:
            await cache.close()

    asyncio.run(scenario())


def test_incr_ttl_applies_to_a_new_counter_only(make_cache: CacheFactory) -> None:
    async def scenario() -> None:
        cache = make_cache()
        try:
            assert await cache.incr("window", ttl=0.3) == 1
            await asyncio.sleep(0.15)
            assert await cache.incr("window", ttl=10) == 2  # keeps the first expiry
            await asyncio.sleep(0.25)
            assert await cache.get("window") is None
        finally:
            await cache.close()

    asyncio.run(scenario())


def test_prefixes_keep_caches_apart(make_cache: CacheFactory) -> None:
    async def scenario() -> None:
        one = make_cache()
        try:
            other = make_cache(prefix=one.prefix + "other:")
            await one.set("k", "one")
            await other.set("k", "other")
            assert await one.get("k") == "one"
            assert await other.get("k") == "other"
        finally:
            await one.close()
            await other.close()

    asyncio.run(scenario())


def test_get_or_set_computes_on_a_miss_only(make_cache: CacheFactory) -> None:
    calls: list[str] = []

    async def compute() -> dict[str, int]:
        calls.append("async")
        return {"total": 42}

    def compute_sync() -> str:
        calls.append("sync")
        return "plain"

    async def scenario() -> None:
        cache = make_cache()
        try:
            assert await cache.get_or_set("total", compute, ttl=60) == {"total": 42}
            assert await cache.get_or_set("total", compute, ttl=60) == {"total": 42}
            assert await cache.get_or_set("plain", compute_sync) == "plain"
            assert await cache.get_or_set("plain", compute_sync) == "plain"
            assert await cache.get_or_set("value", "as is") == "as is"
            assert await cache.get_or_set("item", lambda: Item("tea", 1.0), type=Item) == Item(
                "tea", 1.0
            )
            assert await cache.get_or_set("item", lambda: Item("x", 0), type=Item) == Item(
                "tea", 1.0
            )
        finally:
            await cache.close()

    asyncio.run(scenario())
    assert calls == ["async", "sync"]


def test_stampede_one_computes_while_the_others_wait(make_cache: CacheFactory) -> None:
    """50 requests in this process and 50 in "another process" (a second cache on the same
    backend) miss at once: the value is computed once."""
    calls = 0

    async def slow() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.2)
        return "report"

    async def scenario() -> None:
        here, there = make_cache(), make_cache()
        try:
            results = await asyncio.gather(
                *(cache.get_or_set("report", slow, ttl=60) for cache in [here, there] * 50)
            )
            assert results == ["report"] * 100
        finally:
            await here.close()
            await there.close()

    asyncio.run(scenario())
    assert calls == 1


def test_stampede_with_stale_serves_the_old_value_while_one_recomputes(
    make_cache: CacheFactory,
) -> None:
    calls = 0

    async def slow() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.2)
        return calls

    async def scenario() -> None:
        here, there = make_cache(), make_cache()
        try:
            assert await here.get_or_set("n", slow, ttl=0.2, stale=30) == 1
            await asyncio.sleep(0.3)  # expired, but kept for 30 s more
            assert await here.get("n") is None  # get() never returns an expired value
            started = asyncio.get_running_loop().time()
            results = await asyncio.gather(
                *(cache.get_or_set("n", slow, ttl=60, stale=30) for cache in [here, there] * 10)
            )
            # One caller recomputed (2); the others got the old value at once (or, if they came
            # after the recomputation ended on a busy machine, the new one).
            assert set(results) == {1, 2}
            assert results.count(1) >= 10
            assert await here.get_or_set("n", slow, ttl=60) == 2
            assert asyncio.get_running_loop().time() - started < 1
        finally:
            await here.close()
            await there.close()

    asyncio.run(scenario())
    assert calls == 2


def test_a_failing_computation_is_not_stored_and_reaches_every_waiter(
    make_cache: CacheFactory,
) -> None:
    async def broken() -> str:
        await asyncio.sleep(0.05)
        raise RuntimeError("database down")

    async def scenario() -> None:
        cache = make_cache()
        try:
            results = await asyncio.gather(
                *(cache.get_or_set("x", broken) for _ in range(5)), return_exceptions=True
            )
            assert all(isinstance(r, RuntimeError) for r in results)
            assert await cache.get_or_set("x", "recovered") == "recovered"
        finally:
            await cache.close()

    asyncio.run(scenario())


def test_default_backend_follows_redis_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PLAIT_REDIS_URL", raising=False)
    assert isinstance(default_backend(), MemoryBackend)
    assert isinstance(Cache().backend, MemoryBackend)
    monkeypatch.setenv("PLAIT_REDIS_URL", "redis://example.invalid:6390/3")
    backend = default_backend()
    assert isinstance(backend, RedisBackend)
    assert backend.client.connection_pool.connection_kwargs["host"] == "example.invalid"
    settings = Settings.load(check=False, REDIS_URL=None)
    assert isinstance(Cache(settings=settings).backend, MemoryBackend)
    asyncio.run(backend.close())


def test_memory_backend_evicts_the_least_recently_used() -> None:
    async def scenario() -> None:
        backend = MemoryBackend(max_entries=2)
        cache = Cache(backend=backend)
        await cache.set("a", 1)
        await cache.set("b", 2)
        assert await cache.get("a") == 1  # "b" is now the least recently used
        await cache.set("c", 3)
        assert len(backend) == 2
        assert await cache.get("b") is None
        assert await cache.get("a") == 1
        assert cache.default_ttl == DEFAULT_TTL

    asyncio.run(scenario())
