"""Helpers of the sessions tests; the Redis server and its rule live in ``_services``."""

from __future__ import annotations

from collections.abc import Callable

from _services import REDIS_URL, require_redis
from plait import Request
from plait.sessions import SessionData, SessionStore

__all__ = [
    "REDIS_URL",
    "SECRET",
    "StoreFactory",
    "require_redis",
    "session_of",
]

SECRET = "a-test-secret-key-that-is-long-enough-for-plait"

StoreFactory = Callable[[], SessionStore]


def session_of(request: Request) -> SessionData:
    """``request.session`` as the battery's type (the core types it as a mapping)."""
    session = request.session
    assert isinstance(session, SessionData)
    return session
