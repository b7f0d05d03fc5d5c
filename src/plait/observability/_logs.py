"""Structured logs: one JSON line per request, carrying the request id, and a JSON formatter."""

from __future__ import annotations

import contextvars
import logging
import logging.handlers
import queue
import sys
import time
import uuid
from typing import IO, TYPE_CHECKING, Any

import msgspec

from plait.observability._routes import StatusSend, route_template
from plait.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from plait._app import App

__all__ = [
    "AccessLog",
    "AccessLogMiddleware",
    "JSONFormatter",
    "configure_json_logging",
    "request_id",
]

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "plait_request_id", default=None
)
_encoder = msgspec.json.Encoder()
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


def request_id() -> str | None:
    """The id of the request being served (in this task), for your own log lines."""
    return _request_id.get()


class AccessLogMiddleware:
    """Pure ASGI: one ``INFO`` record per HTTP request on ``logger`` (``plait.access``).

    The record's message is a JSON object: ``request_id``, ``method``, ``path``, ``route``
    (the template), ``status``, ``duration_ms``, ``client``. The request id is the one
    ``RequestIDMiddleware`` chose when it runs first (:class:`AccessLog` sets both up), else
    a new one.
    While the request runs, :func:`request_id` returns it, so :class:`JSONFormatter` adds
    it to every line the request logs. When the logger is not enabled for ``INFO``
    the middleware only makes that check: no clock, no id, no encoding.
    """

    def __init__(self, app: ASGIApp, *, logger: str | logging.Logger = "plait.access") -> None:
        self.app = app
        self.logger = logging.getLogger(logger) if isinstance(logger, str) else logger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # PERF: a disabled access log costs one check per request.
        if scope["type"] != "http" or not self.logger.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        state = scope.get("state")
        rid = state.get("request_id") if state else None
        if not isinstance(rid, str):
            rid = uuid.uuid4().hex
        token = _request_id.set(rid)
        send_status = StatusSend(send)
        start = time.perf_counter()

        try:
            await self.app(scope, receive, send_status)
        finally:
            client = scope.get("client")
            line = {
                "request_id": rid,
                "method": scope["method"],
                "path": scope["path"],
                "route": route_template(scope),
                "status": send_status.status or 500,
                "duration_ms": round((time.perf_counter() - start) * 1000, 3),
                "client": client[0] if client else None,
            }
            self.logger.info(_encoder.encode(line).decode(), extra={"access": line})
            _request_id.reset(token)


class AccessLog:
    """One JSON line per request, with a request id echoed in ``X-Request-ID``::

        from plait.observability import AccessLog

        AccessLog(app)

    Adds :class:`AccessLogMiddleware` on ``logger`` and, around it, plait's
    ``RequestIDMiddleware`` (``request_id_header=None`` leaves it out, for apps that add
    their own). Log lines go wherever the logger's handlers send them:
    :func:`configure_json_logging` writes JSON lines to stderr from a background thread.
    """

    def __init__(
        self,
        app: App,
        *,
        logger: str | logging.Logger = "plait.access",
        request_id_header: str | None = "X-Request-ID",
        trust_incoming: bool = False,
    ) -> None:
        app.add_middleware(AccessLogMiddleware, logger=logger)
        if request_id_header is not None:
            from plait.middleware import RequestIDMiddleware

            app.add_middleware(
                RequestIDMiddleware, header_name=request_id_header, trust_incoming=trust_incoming
            )


class JSONFormatter(logging.Formatter):
    """Format every record as one JSON object: time, level, logger, message, request id.

    An access-log record is its fields at the top level; other records keep their ``extra``
    fields, and an exception's traceback goes in ``exc_info``.
    """

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
        }
        access = getattr(record, "access", None)
        if isinstance(access, dict):
            data.update(access)
        else:
            data["message"] = record.getMessage()
            for key, value in vars(record).items():
                if key not in _RECORD_FIELDS and key != "access":
                    data[key] = value
            rid = data.get("request_id") or _request_id.get()
            if rid is not None:
                data["request_id"] = rid
        if record.exc_info:
            data["exc_info"] = self.formatException(record.exc_info)
        return _encoder.encode(data).decode() if _encodable(data) else _fallback(data)

    converter = time.gmtime  # type: ignore[assignment]  # UTC, as the Z says


def _encodable(data: dict[str, Any]) -> bool:
    try:
        _encoder.encode(data)
    except (TypeError, msgspec.EncodeError):
        return False
    return True


def _fallback(data: dict[str, Any]) -> str:
    return _encoder.encode(
        {k: v if _encodable({k: v}) else repr(v) for k, v in data.items()}
    ).decode()


def _stamp_request_id(record: logging.LogRecord) -> bool:
    if getattr(record, "request_id", None) is None:  # plait.tasks' record factory sets None
        rid = _request_id.get()
        if rid is not None:
            record.request_id = rid
    return True


def configure_json_logging(
    level: int = logging.INFO, stream: IO[str] | None = None
) -> logging.handlers.QueueListener:
    """Send ``plait`` and root logs as JSON lines to ``stream`` (stderr), written by a thread.

    Records are queued by the request's task and formatted and written by a background
    thread (a ``QueueListener``), so a slow terminal or pipe never holds up a request.
    Returns the listener; call its ``stop()`` at exit to flush.
    """
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    target = logging.StreamHandler(stream or sys.stderr)
    target.setFormatter(JSONFormatter())
    listener = logging.handlers.QueueListener(records, target, respect_handler_level=True)
    handler = logging.handlers.QueueHandler(records)
    handler.addFilter(_stamp_request_id)  # the listener's thread cannot see the context
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    listener.start()
    return listener
