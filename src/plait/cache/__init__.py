"""plait's cache: values with expiry, and whole responses, in memory or in Redis.

::

    from plait import App
    from plait.cache import Cache

    app = App()
    cache = Cache(app)              # Redis when REDIS_URL is set, else this process's memory

    @app.get("/report")
    @cache.page(ttl=60)             # the whole response, with ETag and 304s
    async def report() -> dict:
        return {"total": await cache.get_or_set("total", compute_total, ttl=300)}

Backends are objects behind a tiny interface: :class:`MemoryBackend` (the default) and
:class:`RedisBackend` (``pip install 'plait[redis]'``).
"""

from plait.cache._backends import CacheBackend, MemoryBackend
from plait.cache._cache import DEFAULT_TTL, Cache, default_backend
from plait.cache._redis import RedisBackend

__all__ = [
    "DEFAULT_TTL",
    "Cache",
    "CacheBackend",
    "MemoryBackend",
    "RedisBackend",
    "default_backend",
]
