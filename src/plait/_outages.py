"""Backing-service outages as 503s: Retry-After, one log line per outage, recovery by itself.

A database, Redis or a broker that can't be reached is not a bug in the app: the request gets
``503 Service Unavailable`` with ``Retry-After`` (an RFC 9457 problem), the log gets one line
when the outage starts and one when the service is back (not a traceback per request), and
the next request that finds the service up simply succeeds: nothing needs a restart.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from plait._exceptions import HTTPException

__all__ = ["BackingService", "ServiceUnavailable"]

logger = logging.getLogger("plait.outage")

_MESSAGE_LIMIT = 200  # characters of the error kept in the log line: one line, bounded


class ServiceUnavailable(HTTPException):
    """``503 Service Unavailable`` with ``Retry-After``: a service the request needs is down
    (or too busy) right now, and the client may try again in ``retry_after`` seconds::

        raise ServiceUnavailable("Redis", retry_after=5)
    """

    def __init__(self, service: str, *, retry_after: int = 5, detail: str | None = None) -> None:
        if type(retry_after) is not int or retry_after < 0:
            raise ValueError(f"retry_after must be whole seconds >= 0, got {retry_after!r}")
        super().__init__(
            503,
            detail or f"{service} is unavailable right now; try again shortly",
            headers={"Retry-After": str(retry_after)},
            title="Service Unavailable",
        )
        self.service = service
        self.retry_after = retry_after


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())  # one line, whatever the driver put in its message
    if len(text) > _MESSAGE_LIMIT:
        text = text[:_MESSAGE_LIMIT] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class BackingService:
    """One backing service whose outages answer 503 instead of 500.

    Wrap each call to the service in ``with service:``; an error that ``errors`` names (a
    tuple of exception types, or a predicate) leaves the block as :class:`ServiceUnavailable`
    (503, ``Retry-After: retry_after``), which plait answers as a problem response::

        from plait import BackingService

        search = BackingService("The search index", errors=(ConnectionError, TimeoutError))

        async def find(words: str) -> list[str]:
            with search:
                return await index_client.query(words)

    The log (logger ``plait.outage``) gets one warning when an outage starts, naming the
    service and the error, and one info line when a call succeeds again ("back after 12.3 s,
    41 requests answered 503"). An outage with no successful call to end it is over after
    ``quiet_after`` seconds without errors, so a later failure is logged as a new outage.
    :meth:`BackingService.redis` names redis-py's connection and timeout errors.
    ``condition`` is the word for the outage ("busy" for an exhausted pool).
    """

    def __init__(
        self,
        name: str,
        *,
        errors: tuple[type[BaseException], ...] | Callable[[BaseException], bool],
        retry_after: int = 5,
        detail: str | None = None,
        quiet_after: float = 60.0,
        condition: str = "unavailable",
    ) -> None:
        self.name = name
        self.condition = condition
        """What the service is during an outage, in the log line: "unavailable", "busy"."""
        self.retry_after = retry_after
        self.detail = detail
        self.quiet_after = quiet_after
        if isinstance(errors, tuple):
            types = errors
            self._is_outage: Callable[[BaseException], bool] = lambda exc: isinstance(exc, types)
        else:
            self._is_outage = errors
        ServiceUnavailable(name, retry_after=retry_after)  # checks retry_after now, not later
        self._down_since: float | None = None
        self._last_failure = 0.0
        self._refused = 0

    @classmethod
    def redis(cls, name: str = "Redis", **options: Any) -> BackingService:
        """A service reached with redis-py: its connection and timeout errors (and the OS's)
        are outages. Needs redis-py, which the Redis-backed batteries' extras install."""
        import redis.exceptions  # redis-py is optional (the Redis batteries' extras)

        errors = (
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
            ConnectionError,
            TimeoutError,
        )
        return cls(name, errors=errors, **options)

    @property
    def down(self) -> bool:
        """Whether an outage is going on (errors seen, no success since)."""
        if self._down_since is None:
            return False
        if time.monotonic() - self._last_failure > self.quiet_after:
            self._end(None)
        return self._down_since is not None

    def is_outage(self, exc: BaseException) -> bool:
        """Whether ``exc`` means the service can't be reached (rather than a bug)."""
        return self._is_outage(exc)

    def failed(self, exc: BaseException) -> ServiceUnavailable:
        """Record an outage error; return the 503 to raise (``raise service.failed(exc)``).
        The first error of an outage is logged, the others only counted."""
        now = time.monotonic()
        if self._down_since is not None and now - self._last_failure > self.quiet_after:
            self._end(None)
        if self._down_since is None:
            self._down_since = now
            self._refused = 0
            logger.warning(
                "%s is %s (%s); answering 503 with Retry-After: %d until it is back",
                self.name,
                self.condition,
                _describe(exc),
                self.retry_after,
            )
        self._last_failure = now
        self._refused += 1
        detail = self.detail or f"{self.name} is {self.condition} right now; try again shortly"
        return ServiceUnavailable(self.name, retry_after=self.retry_after, detail=detail)

    def succeeded(self) -> None:
        """Record a successful call: ends the outage, if there was one, with one log line."""
        if self._down_since is not None:
            self._end(time.monotonic())

    def _end(self, now: float | None) -> None:
        assert self._down_since is not None
        if now is not None:
            logger.info(
                "%s is back after %.1f s (%d requests answered 503)",
                self.name,
                now - self._down_since,
                self._refused,
            )
        self._down_since = None

    def __enter__(self) -> BackingService:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None:
            # PERF: the common case is one attribute test.
            if self._down_since is not None:
                self._end(time.monotonic())
            return
        if (
            isinstance(exc, Exception)
            and not isinstance(exc, HTTPException)
            and self._is_outage(exc)
        ):
            raise self.failed(exc) from exc

    def __repr__(self) -> str:
        state = "down" if self._down_since is not None else "up"
        return f"BackingService({self.name!r}, {state})"
