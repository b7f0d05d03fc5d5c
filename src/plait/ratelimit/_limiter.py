"""``RateLimiter`` (where counters live) and ``RateLimit`` (one rule, also a dependency)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypedDict, Unpack

from plait import App, BackingService, Depends, HTTPException, Request, Response, Settings
from plait._optional import require
from plait.ratelimit._keys import KeyFunc, key_function
from plait.types import Scope

if TYPE_CHECKING:
    import limits
    import limits.aio.storage
    import limits.aio.strategies

__all__ = ["Decision", "RateLimit", "RateLimitOptions", "RateLimiter", "Strategy"]

Strategy = Literal["fixed", "sliding", "moving"]


class RateLimitOptions(TypedDict, total=False):
    """What a rule takes besides its limit (:class:`RateLimit`, ``limit()``, ``middleware()``)."""

    key: Literal["ip", "user", "api_key"] | KeyFunc
    strategy: Strategy
    group: str | None
    methods: Iterable[str] | None
    api_key_header: str
    headers: bool


class Decision(NamedTuple):
    """The outcome of one request against a rule, with what the headers say."""

    allowed: bool
    limit: int
    remaining: int
    reset: int
    """Seconds until the window frees a request (``Retry-After`` when refused)."""
    policy: str
    """``RateLimit-Policy``: ``"<limit>;w=<window seconds>"`` for each limit of the rule."""

    def headers(self) -> dict[str, str]:
        """``RateLimit-Limit``, ``-Remaining``, ``-Reset``, ``-Policy``, and ``Retry-After``
        when the request is refused."""
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
            "RateLimit-Policy": self.policy,
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.reset)
        return headers


def _outage(exc: BaseException) -> bool:
    """Whether ``exc`` means the counter store can't be reached (not a bug)."""
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    try:
        import redis.exceptions
    except ImportError:  # pragma: no cover - memory storage without redis-py
        return False
    return isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError)


def _async_uri(url: str) -> str:
    """``redis://…`` as limits' asyncio storage names it (``async+redis://…``)."""
    return url if url.startswith("async+") else "async+" + url


class RateLimiter:
    """Where rate-limit counters live, and the rules that use them::

        from plait import App
        from plait.ratelimit import RateLimiter

        app = App()
        limiter = RateLimiter(app)          # Redis when REDIS_URL is set, else memory

        @app.post("/search", dependencies=[limiter.limit("10/minute", key="ip")])
        async def search() -> dict: ...

        limiter.middleware("1000/hour", key="ip")     # every request of the app

    The counting is the ``limits`` library's: ``storage`` is a URL (``"memory://"``,
    ``"redis://host:6379/0"``) or a ``limits.aio.storage.Storage``; without one, the
    settings' ``REDIS_URL`` (``PLAIT_REDIS_URL``) means Redis, so every process and machine
    counts together, and its absence means this process's memory. Counter keys start with
    ``prefix``. While Redis can't be reached, limited requests get a 503 with
    ``Retry-After`` (:class:`plait.BackingService`: one log line per outage, recovery by
    itself), never a 500 and never a request let through unchecked. With ``app``, the
    limiter is ``app.state.ratelimiter`` and its connections close at shutdown.
    ``enabled=False`` lets every request through (tests, development).
    """

    def __init__(
        self,
        app: App | None = None,
        *,
        storage: str | limits.aio.storage.Storage | None = None,
        prefix: str = "plait:ratelimit",
        settings: Settings | None = None,
        enabled: bool = True,
    ) -> None:
        require("limits", "ratelimit", "RateLimiter")
        if storage is None:
            redis_url = (settings or Settings.load(check=False)).REDIS_URL
            storage = redis_url or "memory://"
        self.url: str | None = storage if isinstance(storage, str) else None
        self.prefix = prefix
        self.enabled = enabled
        self._storage: limits.aio.storage.Storage | None = (
            None if isinstance(storage, str) else storage
        )
        self._pool: Any = None
        self.service = BackingService(
            "Redis (rate limits)" if self.url is None or "redis" in self.url else "Rate limits",
            errors=_outage,
        )
        """Turns an unreachable counter store into 503s (see :class:`plait.BackingService`)."""
        self._strategies: dict[str, limits.aio.strategies.RateLimiter] = {}
        self.app = app
        if app is not None:
            app.state.ratelimiter = self
            app.on_shutdown(self.close)

    @classmethod
    def of(cls, app: App) -> RateLimiter:
        """The app's limiter (``app.state.ratelimiter``), made with the defaults if none."""
        limiter = getattr(app.state, "ratelimiter", None)
        if not isinstance(limiter, RateLimiter):
            # Possibly while serving: too late to register a shutdown hook (a memory limiter
            # has nothing to close; make RateLimiter(app) yourself to close Redis's pool).
            limiter = app.state.ratelimiter = cls(None)
        return limiter

    @property
    def storage(self) -> limits.aio.storage.Storage:
        """The ``limits`` storage (opened on first use, in the running event loop)."""
        if self._storage is None:
            self._storage = self._open()
        return self._storage

    def _open(self) -> limits.aio.storage.Storage:
        import limits.aio.storage
        from limits.aio.storage import MemoryStorage, RedisStorage

        assert self.url is not None
        if self.url.startswith("memory://") or self.url.startswith("async+memory://"):
            return MemoryStorage()
        if self.url.startswith(("redis://", "rediss://", "unix://")):
            import redis.asyncio

            # PERF+safety: our own pool, with timeouts (redis-py waits forever by default), so
            # an outage is an error within seconds and the pool can be closed at shutdown.
            self._pool = redis.asyncio.ConnectionPool.from_url(
                self.url, socket_connect_timeout=2, socket_timeout=2
            )
            return RedisStorage(
                _async_uri(self.url),
                implementation="redispy",
                key_prefix=self.prefix,
                connection_pool=self._pool,
            )
        from limits.storage import storage_from_string

        storage = storage_from_string(_async_uri(self.url), key_prefix=self.prefix)
        assert isinstance(storage, limits.aio.storage.Storage)
        return storage

    def strategy(self, name: Strategy) -> limits.aio.strategies.RateLimiter:
        """The ``limits`` strategy counting with ``name`` windows on this storage."""
        strategy = self._strategies.get(name)
        if strategy is None:
            from limits.aio import strategies

            if name == "fixed":
                strategy = strategies.FixedWindowRateLimiter(self.storage)
            elif name == "sliding":
                strategy = strategies.SlidingWindowCounterRateLimiter(self.storage)
            else:
                strategy = strategies.MovingWindowRateLimiter(self.storage)
            self._strategies[name] = strategy
        return strategy

    def limit(self, limit: str, **options: Unpack[RateLimitOptions]) -> Any:
        """A dependency that refuses requests over ``limit`` (``"5/minute"``,
        ``"10/second;1000/day"``) with 429 and sets the ``RateLimit-*`` headers::

            @app.post("/login", dependencies=[limiter.limit("5/minute", key="ip")])
        """
        return Depends(RateLimit(limit, limiter=self, **options))

    def middleware(self, limit: str, **options: Unpack[RateLimitOptions]) -> RateLimit:
        """Limit every HTTP request of the app (``group`` defaults to one for the whole app)."""
        if self.app is None:
            raise RuntimeError("limiter.middleware() needs the app: RateLimiter(app)")
        from plait.ratelimit._middleware import RateLimitMiddleware

        options.setdefault("group", "app")
        rule = RateLimit(limit, limiter=self, **options)
        self.app.add_middleware(RateLimitMiddleware, rule=rule)
        return rule

    async def close(self) -> None:
        """Close the connections the limiter opened (``RateLimiter(app)`` does it at shutdown);
        the next request opens new ones."""
        pool, self._pool = self._pool, None
        if self.url is not None and pool is not None:
            self._storage = None
            self._strategies.clear()
            await pool.aclose()


class RateLimit:
    """One rule: ``limit`` per client, counted by ``key`` in ``strategy`` windows.

    - ``limit``: ``"5/minute"``, ``"100 per hour"``, several separated by ``;`` (all apply).
    - ``key``: ``"ip"`` (the client address, as trusted proxies report it), ``"user"`` (the
      signed-in user, else the address), ``"api_key"`` (the ``api_key_header`` or a bearer
      token, hashed; else the address), or a function of the scope returning a string
      (``None`` exempts the request).
    - ``strategy``: ``"fixed"`` windows (one counter per window: cheapest, but a client can
      send twice the limit across a window boundary), ``"sliding"`` (a weighted sliding
      window: smooth, two counters), or ``"moving"`` (an exact log of hits: strictest,
      memory grows with the limit).
    - ``group``: which requests count together (default: the route, or the whole app for
      middleware); give two routes the same group to share one budget.
    - ``methods``: only these methods count (default: all).
    - ``headers``: send ``RateLimit-*`` on the responses let through (default). Without
      them an allowed request costs one storage round trip instead of two or three (on
      Redis); a refused one always gets its ``Retry-After``.

    Used as a dependency (``Depends(rule)``, or :meth:`RateLimiter.limit`), it raises a
    429 :class:`plait.HTTPException` with ``Retry-After`` and sets the ``RateLimit-*``
    headers on the response it lets through.
    """

    def __init__(
        self,
        limit: str,
        *,
        limiter: RateLimiter | None = None,
        key: Literal["ip", "user", "api_key"] | KeyFunc = "ip",
        strategy: Strategy = "fixed",
        group: str | None = None,
        methods: Iterable[str] | None = None,
        api_key_header: str = "X-API-Key",
        headers: bool = True,
    ) -> None:
        import limits

        if strategy not in ("fixed", "sliding", "moving"):
            raise ValueError(f"strategy must be 'fixed', 'sliding' or 'moving', not {strategy!r}")
        try:
            self.items = limits.parse_many(limit)
        except ValueError as exc:
            raise ValueError(f"invalid rate limit {limit!r}: {exc}") from None
        self.limit = limit
        self.limiter = limiter
        self.key = key_function(key, api_key_header)
        self.strategy: Strategy = strategy
        self.group = group
        self.methods = frozenset(m.upper() for m in methods) if methods is not None else None
        self.headers = headers
        self.policy = ", ".join(f"{item.amount};w={item.get_expiry()}" for item in self.items)

    def applies(self, scope: Scope) -> bool:
        """Whether the request counts against this rule (its method is limited)."""
        return self.methods is None or scope.get("method") in self.methods

    async def hit(self, scope: Scope, limiter: RateLimiter) -> Decision | None:
        """Count the request; the decision, or ``None`` if it is exempt (no key)."""
        identity = self.key(scope)
        if identity is None or not limiter.enabled:
            return None
        group = self.group
        if group is None:
            route = scope.get("route")
            group = getattr(route, "path", None) or scope.get("path", "")
        strategy = limiter.strategy(self.strategy)
        decision: Decision | None = None
        for item in self.items:
            with limiter.service:
                allowed = await strategy.hit(item, group, identity)
                if not allowed or self.headers:
                    stats = await strategy.get_window_stats(item, group, identity)
                elif decision is None:  # allowed, and no headers to send: nothing to look up
                    decision = Decision(True, item.amount, -1, 0, self.policy)
                    continue
                else:
                    continue
            reset = max(1, math.ceil(stats.reset_time - time.time()))
            current = Decision(allowed, item.amount, stats.remaining, reset, self.policy)
            # The headers report the rule closest to refusing (a refusal first).
            if (
                decision is None
                or (decision.allowed and not allowed)
                or (decision.allowed == allowed and current.remaining < decision.remaining)
            ):
                decision = current
        return decision

    async def __call__(self, request: Request, response: Response) -> None:
        if not self.applies(request.scope):
            return
        limiter = self.limiter or RateLimiter.of(request.app)
        decision = await self.hit(request.scope, limiter)
        if decision is None:
            return
        if not decision.allowed:
            raise self.refusal(decision)
        if self.headers:
            for name, value in decision.headers().items():
                response.headers[name] = value

    def refusal(self, decision: Decision) -> HTTPException:
        """The 429 for a refused request (a problem document with ``Retry-After``)."""
        return HTTPException(
            429,
            f"Too many requests: the limit is {self.limit}; retry in {decision.reset} s",
            headers=decision.headers(),
        )

    def __repr__(self) -> str:
        return f"RateLimit({self.limit!r}, strategy={self.strategy!r}, group={self.group!r})"
