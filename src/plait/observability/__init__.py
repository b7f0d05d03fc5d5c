"""plait's observability: traces, metrics, structured logs and health endpoints.

Each is one line on an app, and each is optional; the core never imports them::

    from plait.observability import AccessLog, Health, Metrics, Tracing

    Tracing(app, exporter=my_exporter, database=db)   # OpenTelemetry (plait[otel])
    Metrics(app, database=db)                          # Prometheus /metrics (plait[prometheus])
    AccessLog(app)                                     # one JSON line per request
    Health(app, checks={"database": database_check(db)})  # /healthz and /readyz

See docs/observability.md.
"""

from __future__ import annotations

from plait.observability._health import Check, Health, database_check, redis_check, tcp_check
from plait.observability._logs import (
    AccessLog,
    AccessLogMiddleware,
    JSONFormatter,
    configure_json_logging,
    request_id,
)
from plait.observability._metrics import DEFAULT_BUCKETS, Metrics, MetricsMiddleware
from plait.observability._routes import UNMATCHED
from plait.observability._tracing import Tracing, TracingMiddleware

__all__ = [
    "DEFAULT_BUCKETS",
    "UNMATCHED",
    "AccessLog",
    "AccessLogMiddleware",
    "Check",
    "Health",
    "JSONFormatter",
    "Metrics",
    "MetricsMiddleware",
    "Tracing",
    "TracingMiddleware",
    "configure_json_logging",
    "database_check",
    "redis_check",
    "request_id",
    "tcp_check",
]
