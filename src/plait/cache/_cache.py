"""``Cache``: get, set, delete, get_or_set (with its stampede guard) and incr over a backend."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final, TypeVar, cast, overload

import msgspec

from plait import App, Settings
from plait.cache._backends import CacheBackend, MemoryBackend
from plait.cache._page import PageCacheMiddleware, PagePolicy, Pages

__all__ = ["DEFAULT_TTL", "Cache", "default_backend"]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_TTL: Final = 300.0
"""Five minutes, Django's ``TIMEOUT``: what ``ttl`` is when a call does not say."""


class _Default:
    def __repr__(self) -> str:
        return "DEFAULT"


_DEFAULT: Any = _Default()
_MISSING: Any = object()
_encoder = msgspec.msgpack.Encoder()
_envelope = msgspec.msgpack.Decoder(tuple[float, msgspec.Raw])
_decoders: dict[Any, msgspec.msgpack.Decoder[Any]] = {}
# What an integer stored by incr() (or set() with an int) starts with: never a msgpack array.
_DIGITS = frozenset(b"-0123456789")


def _decoder(tp: Any) -> msgspec.msgpack.Decoder[Any]:
    decoder = _decoders.get(tp)
    if decoder is None:
        decoder = _decoders[tp] = msgspec.msgpack.Decoder(tp)
    return decoder


def default_backend(settings: Settings | None = None) -> CacheBackend:
    """:class:`RedisBackend` when ``REDIS_URL`` is set (in ``settings``, else the
    environment), otherwise a :class:`MemoryBackend`."""
    redis_url = (settings or Settings.load(check=False)).REDIS_URL
    if redis_url:
        from plait.cache._redis import RedisBackend

        return RedisBackend(redis_url)
    return MemoryBackend()


class Cache:
    """A key-value cache with expiry, in memory or in Redis, behind one small API::

        from plait import App
        from plait.cache import Cache

        app = App()
        cache = Cache(app)          # Redis when REDIS_URL is set, else this process's memory

        @app.get("/stats")
        async def stats() -> dict:
            return await cache.get_or_set("stats", compute_stats, ttl=60)

    Values are anything msgspec encodes (dicts, lists, strings, numbers, bytes, datetimes,
    Structs and dataclasses); they come back as plain data unless ``type=`` says what to
    decode into (``await cache.get("user:1", type=User)``). ``ttl`` is in seconds
    (:data:`DEFAULT_TTL` when not given; ``None`` keeps the entry until it is evicted).
    Keys are prefixed with ``prefix``, so several caches and apps can share one Redis.

    ``app`` is optional: with it, the backend is closed at shutdown and the cache is
    ``app.state.cache``; without it, the cache is a plain object (a script, a worker).
    """

    def __init__(
        self,
        app: App | None = None,
        *,
        backend: CacheBackend | None = None,
        prefix: str = "plait:cache:",
        ttl: float | None = DEFAULT_TTL,
        settings: Settings | None = None,
    ) -> None:
        self.backend = backend if backend is not None else default_backend(settings)
        self.prefix = prefix
        self.default_ttl = ttl
        self._inflight: dict[str, asyncio.Future[Any]] = {}
        self._app = app
        self._pages: Pages | None = None
        if app is not None:
            app.on_shutdown(self.backend.close)
            app.state.cache = self

    # ------------------------------------------------------------------ encoding

    def _ttl(self, ttl: float | None) -> float | None:
        ttl = self.default_ttl if ttl is _DEFAULT else ttl
        if ttl is not None and ttl <= 0:
            raise ValueError(f"ttl must be a positive number of seconds or None, got {ttl!r}")
        return ttl

    @staticmethod
    def _pack(value: Any, fresh_until: float, *, plain_ints: bool = True) -> bytes:
        if plain_ints and type(value) is int:
            return b"%d" % value  # as Redis keeps counters: incr() works on it
        return _encoder.encode((fresh_until, value))

    @staticmethod
    def _unpack(raw: bytes, tp: Any) -> tuple[float, Any]:
        """(fresh until, value); a fresh-until of 0 means "as long as it is stored"."""
        if raw[0] in _DIGITS:
            return 0.0, int(raw)
        fresh_until, value = _envelope.decode(raw)
        return fresh_until, _decoder(tp).decode(value)

    async def _store(self, full_key: str, value: Any, ttl: float | None, stale: float) -> None:
        fresh_until = time.time() + ttl if ttl else 0.0
        kept = ttl + stale if ttl else None
        # A plain integer carries no freshness: with a stale period, even ints are wrapped.
        packed = self._pack(value, fresh_until, plain_ints=not (stale and ttl))
        await self.backend.set(full_key, packed, kept)

    # ------------------------------------------------------------------ the API

    @overload
    async def get(self, key: str) -> Any: ...
    @overload
    async def get(self, key: str, default: T) -> Any | T: ...
    @overload
    async def get(self, key: str, default: T, *, type: type[T]) -> T: ...
    @overload
    async def get(self, key: str, *, type: type[T]) -> T | None: ...

    async def get(self, key: str, default: Any = None, *, type: Any = Any) -> Any:
        """The value stored under ``key``, or ``default`` when there is none (or it expired)."""
        raw = await self.backend.get(self.prefix + key)
        if raw is None:
            return default
        fresh_until, value = self._unpack(raw, type)
        if fresh_until and fresh_until <= time.time():
            return default
        return value

    async def set(self, key: str, value: Any, ttl: float | None = _DEFAULT) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds."""
        await self._store(self.prefix + key, value, self._ttl(ttl), 0.0)

    async def add(self, key: str, value: Any, ttl: float | None = _DEFAULT) -> bool:
        """Store ``value`` only if ``key`` holds nothing; return whether it was stored."""
        ttl = self._ttl(ttl)
        fresh_until = time.time() + ttl if ttl else 0.0
        return await self.backend.add(self.prefix + key, self._pack(value, fresh_until), ttl)

    async def delete(self, key: str) -> bool:
        """Forget ``key``; return whether it held something."""
        return await self.backend.delete(self.prefix + key)

    async def incr(self, key: str, delta: int = 1, ttl: float | None = _DEFAULT) -> int:
        """Add ``delta`` to the integer under ``key`` atomically and return the new value.

        A missing key counts from 0 and expires after ``ttl`` (a counter that exists keeps
        its expiry); a key holding something other than an integer raises ``ValueError``.
        """
        return await self.backend.incr(self.prefix + key, delta, self._ttl(ttl))

    async def get_or_set(
        self,
        key: str,
        default: Callable[[], Awaitable[T]] | Callable[[], T] | T,
        ttl: float | None = _DEFAULT,
        *,
        stale: float = 0.0,
        lock_timeout: float = 10.0,
        type: Any = Any,
    ) -> T:
        """The value under ``key``; when there is none, compute ``default`` once and store it.

        ``default`` is a value, or a function (sync or async) called only on a miss. The
        stampede guard: when many requests miss at once, one computes (one per key across
        every process sharing the backend, through a lock key that expires after
        ``lock_timeout``) while the others wait for its result. With ``stale`` seconds, an
        expired value is kept that much longer and served to everyone while one request
        recomputes it, so nobody waits.
        """
        ttl = self._ttl(ttl)
        if stale < 0:
            raise ValueError("stale must be zero or more seconds")
        full_key = self.prefix + key
        raw = await self.backend.get(full_key)
        stale_value = _MISSING
        if raw is not None:
            fresh_until, value = self._unpack(raw, type)
            if not fresh_until or fresh_until > time.time():
                return cast("T", value)
            stale_value = value
        flight = self._inflight.get(full_key)
        if flight is not None:  # this process is already computing it
            if stale_value is not _MISSING:
                return cast("T", stale_value)
            return cast("T", await asyncio.shield(flight))
        flight = asyncio.get_running_loop().create_future()
        self._inflight[full_key] = flight
        try:
            value = await self._fill(full_key, default, ttl, stale, lock_timeout, type, stale_value)
        except BaseException as exc:
            flight.set_exception(exc)
            flight.exception()  # retrieved: no "exception was never retrieved" if nobody waits
            raise
        else:
            flight.set_result(value)
            return cast("T", value)
        finally:
            del self._inflight[full_key]

    async def _fresh(self, full_key: str, tp: Any) -> Any:
        """The value under ``full_key`` if it is fresh, else ``_MISSING``."""
        raw = await self.backend.get(full_key)
        if raw is not None:
            fresh_until, value = self._unpack(raw, tp)
            if not fresh_until or fresh_until > time.time():
                return value
        return _MISSING

    async def _fill(
        self,
        full_key: str,
        default: Any,
        ttl: float | None,
        stale: float,
        lock_timeout: float,
        tp: Any,
        stale_value: Any,
    ) -> Any:
        lock_key = full_key + ":lock"
        deadline = time.monotonic() + lock_timeout
        pause = 0.005
        while time.monotonic() < deadline:
            if await self.backend.add(lock_key, b"1", lock_timeout):
                try:
                    # Another process may have stored it between our look-up and the lock.
                    fresh = await self._fresh(full_key, tp)
                    if fresh is not _MISSING:
                        return fresh
                    return await self._compute_and_store(full_key, default, ttl, stale)
                finally:
                    await self.backend.delete(lock_key)
            if stale_value is not _MISSING:
                return stale_value  # another process is refreshing it: serve the old value
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.1)
            fresh = await self._fresh(full_key, tp)
            if fresh is not _MISSING:
                return fresh
        # The process holding the lock died or is too slow: compute it here after all.
        return await self._compute_and_store(full_key, default, ttl, stale)

    async def _compute_and_store(
        self, full_key: str, default: Any, ttl: float | None, stale: float
    ) -> Any:
        value = await _compute(default)
        await self._store(full_key, value, ttl, stale)
        return value

    def page(
        self,
        ttl: float = _DEFAULT,
        *,
        stale: float = 0.0,
        vary: Sequence[str] = (),
        per_user: bool = False,
        max_size: int = 1 << 20,
        lock_timeout: float = 5.0,
    ) -> Callable[[F], F]:
        """Cache a GET route's whole response for ``ttl`` seconds (Django's ``cache_page``)::

            @app.get("/news")
            @cache.page(ttl=60)
            async def news() -> dict: ...

        Only ``200`` responses to ``GET`` are stored (``HEAD`` is answered from them), each
        with an ``ETag`` (its own, or a hash of the body) so a client's ``If-None-Match``
        gets a ``304``, a ``Cache-Control: max-age`` unless the handler set one, and ``Age``
        when served from the cache. Responses vary by the request headers their ``Vary``
        names, plus ``vary``. Never stored: a response that sets a cookie, says
        ``Cache-Control: no-store``/``no-cache``/``private``, or varies by ``*``; nor,
        unless ``per_user=True``, one that depends on who asks (a request with credentials,
        a page that read the session or varies by ``Cookie``: such pages are stored only
        for requests that send no cookie). ``per_user=True`` stores a variant per cookie
        and ``Authorization`` value, marked ``private``. While a page is rendered, other
        requests for it wait for that one (up to ``lock_timeout``), or get the expired
        copy for up to ``stale`` seconds. Bodies over ``max_size`` bytes are not stored.
        """
        if self._app is None:
            raise RuntimeError("cache.page() needs the app: make the cache with Cache(app)")
        seconds = self._ttl(ttl)
        if seconds is None:
            raise ValueError("cache.page() needs a ttl in seconds")
        if self._pages is None:
            self._pages = Pages(self._app)
            self._app.add_middleware(PageCacheMiddleware, cache=self, pages=self._pages)
        policy = PagePolicy(
            ttl=seconds,
            stale=stale,
            vary=tuple(name.lower().encode("latin-1") for name in vary),
            per_user=per_user,
            max_size=max_size,
            lock_timeout=lock_timeout,
        )
        pages = self._pages

        def decorator(func: F) -> F:
            pages.policies[func] = policy
            return func

        return decorator

    async def close(self) -> None:
        """Close the backend's connections (``Cache(app)`` does it at shutdown)."""
        await self.backend.close()


async def _compute(default: Any) -> Any:
    if not callable(default):
        return default
    value = default()
    if inspect.isawaitable(value):
        value = await value
    return value
