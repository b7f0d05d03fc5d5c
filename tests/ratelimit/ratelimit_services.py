"""Types shared by the rate-limit tests (a module of its own: every test directory has a
``conftest``, so importing from one by name is ambiguous)."""

from __future__ import annotations

from collections.abc import Callable

from plait.ratelimit import RateLimiter

__all__ = ["LimiterFactory"]

LimiterFactory = Callable[..., RateLimiter]
