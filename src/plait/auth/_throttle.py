"""Rate limits on attempts to log in or sign up (plait.ratelimit), per client address."""

from __future__ import annotations

from plait import App
from plait.ratelimit import RateLimit, RateLimiter

__all__ = ["attempt_rule", "ensure_limiter"]


def attempt_rule(limit: str | None, group: str) -> RateLimit | None:
    """Per client address, in sliding windows (no double burst across a window's edge)."""
    if limit is None:
        return None
    # No RateLimit-* headers: an allowed attempt is one round trip to Redis.
    return RateLimit(limit, key="ip", strategy="sliding", group=group, headers=False)


def ensure_limiter(app: App) -> None:
    """Give ``app`` a default limiter (memory, or Redis when REDIS_URL is set) if it has none."""
    if not isinstance(getattr(app.state, "ratelimiter", None), RateLimiter):
        RateLimiter(app)
