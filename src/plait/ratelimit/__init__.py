"""plait's rate limiting: fixed and sliding windows per IP, user or API key, on ``limits``.

::

    from plait import App
    from plait.ratelimit import RateLimiter

    app = App()
    limiter = RateLimiter(app)              # Redis when REDIS_URL is set, else memory

    @app.post("/search", dependencies=[limiter.limit("10/minute", key="ip")])
    async def search() -> dict: ...

    limiter.middleware("1000/hour", key="api_key")   # every request, per API key

Refused requests get ``429 Too Many Requests`` as ``application/problem+json`` with
``Retry-After``; allowed ones carry ``RateLimit-Limit``, ``-Remaining``, ``-Reset`` and
``-Policy``. Needs ``pip install 'plait[ratelimit]'``.
"""

from plait.ratelimit._keys import KeyFunc, client_ip
from plait.ratelimit._limiter import (
    Decision,
    RateLimit,
    RateLimiter,
    RateLimitOptions,
    Strategy,
)
from plait.ratelimit._middleware import RateLimitMiddleware

__all__ = [
    "Decision",
    "KeyFunc",
    "RateLimit",
    "RateLimitMiddleware",
    "RateLimitOptions",
    "RateLimiter",
    "Strategy",
    "client_ip",
]
