"""Prometheus metrics: requests by route template, latency, in-flight, pool and queue gauges."""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from plait._optional import require
from plait._responses import Response
from plait.observability._routes import StatusSend, route_template
from plait.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from plait._app import App
    from plait.db import Database
    from plait.tasks import Tasks

__all__ = ["DEFAULT_BUCKETS", "Metrics", "MetricsMiddleware"]

DEFAULT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
"""Latency buckets in seconds: a web app's requests, from a cached hit to a slow report."""


class MetricsMiddleware:
    """Pure ASGI: count and time each HTTP request by method, route template and status."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        metrics = self.metrics
        send_status = StatusSend(send)
        start = time.perf_counter()

        metrics._in_flight.inc()
        try:
            await self.app(scope, receive, send_status)
        finally:
            metrics._in_flight.dec()
            status = send_status.status or 500
            metrics._observe(
                scope["method"], route_template(scope), status, time.perf_counter() - start
            )


class Metrics:
    """Prometheus metrics at ``/metrics`` (prometheus-client's text format)::

        from plait.observability import Metrics

        metrics = Metrics(app, database=db)

    Exposes ``plait_requests_total{method,route,status}``,
    ``plait_request_duration_seconds{method,route}`` (a histogram),
    ``plait_requests_in_progress``, and, for each ``database``, ``plait_db_pool_*`` gauges
    (connections in use, idle, overflow, pool size). :meth:`gauge` adds any other value read
    at scrape time (a task queue's length, a channel's subscribers). ``route`` is the route
    template ("/items/{item_id:int}"), never the raw path, so scanners cannot create series.
    The metrics live in their own ``registry`` (a new one unless given). ``path=None`` adds
    no route (serve ``metrics.render()`` yourself, e.g. on an internal port). With several
    worker processes each has its own numbers: see prometheus-client's multiprocess mode.
    Needs ``pip install 'plait[prometheus]'``.
    """

    def __init__(
        self,
        app: App,
        *,
        path: str | None = "/metrics",
        registry: CollectorRegistry | None = None,
        prefix: str = "plait",
        buckets: Iterable[float] = DEFAULT_BUCKETS,
        database: Database | Iterable[Database] | None = None,
        tasks: Tasks | None = None,
    ) -> None:
        require("prometheus_client", "prometheus", "Metrics")
        import prometheus_client as prom

        self.registry = registry if registry is not None else prom.CollectorRegistry()
        self._requests = prom.Counter(
            f"{prefix}_requests",
            "HTTP requests served, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self._duration = prom.Histogram(
            f"{prefix}_request_duration_seconds",
            "Time to serve an HTTP request, by method and route template.",
            ["method", "route"],
            buckets=tuple(buckets),
            registry=self.registry,
        )
        self._in_flight = prom.Gauge(
            f"{prefix}_requests_in_progress",
            "HTTP requests being served now.",
            registry=self.registry,
        )
        # PERF: prometheus-client's labels() hashes and locks on every call; the children
        # are cached here, one dict lookup per request.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self.prefix = prefix
        if database is not None:
            databases = [database] if not isinstance(database, Iterable) else list(database)
            self.registry.register(_PoolCollector(prefix, databases))
        self._readings = _Readings()
        self.registry.register(self._readings)
        if tasks is not None:
            self.gauge(
                "tasks",
                "Tasks in the plait_task table, by state.",
                _task_states(tasks),
                label="state",
            )
        app.add_middleware(MetricsMiddleware, metrics=self)
        if path is not None:
            app.add_route(path, self._endpoint, methods=["GET"], include_in_schema=False)

    def _observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = (
                self._requests.labels(method, route, str(status)),
                self._duration.labels(method, route),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def gauge(
        self,
        name: str,
        documentation: str,
        read: Callable[[], Any],
        *,
        label: str | None = None,
    ) -> None:
        """A gauge ``<prefix>_<name>`` whose value is ``read()`` at each scrape::

            metrics.gauge("chat_dropped", "Slow chat clients dropped.", lambda: channels.dropped)

        ``read`` may be async (awaited when ``/metrics`` is served: a database count, a
        queue's length) and may return a mapping from values of ``label`` to numbers.
        """
        self._readings.add(f"{self.prefix}_{name}", documentation, read, label)

    async def refresh(self) -> None:
        """Await the async gauges' readings (``/metrics`` does it before each scrape)."""
        await self._readings.refresh()

    def render(self) -> bytes:
        """The metrics in Prometheus' text format."""
        import prometheus_client as prom

        return prom.generate_latest(self.registry)

    async def _endpoint(self) -> Response:
        import prometheus_client as prom

        await self.refresh()
        return Response(self.render(), media_type=prom.CONTENT_TYPE_LATEST)


class _Readings:
    """Gauges read at scrape time; async ones are awaited by :meth:`refresh` beforehand."""

    def __init__(self) -> None:
        self.gauges: list[tuple[str, str, Callable[[], Any], str | None]] = []
        self.latest: dict[str, Any] = {}

    def add(self, name: str, doc: str, read: Callable[[], Any], label: str | None) -> None:
        self.gauges.append((name, doc, read, label))

    async def refresh(self) -> None:
        for name, _, read, _ in self.gauges:
            if inspect.iscoroutinefunction(read):
                self.latest[name] = await read()

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        for name, doc, read, label in self.gauges:
            value = self.latest.get(name) if inspect.iscoroutinefunction(read) else read()
            family = GaugeMetricFamily(name, doc, labels=[label] if label else None)
            if isinstance(value, Mapping):
                for key, number in value.items():
                    family.add_metric([str(key)], float(number))
            elif value is not None:
                family.add_metric([], float(value))
            yield family


def _task_states(tasks: Tasks) -> Callable[[], Awaitable[dict[str, float]]]:
    async def read() -> dict[str, float]:
        import sqlalchemy as sa

        from plait.tasks import task_table

        query = sa.select(task_table.c.state, sa.func.count()).group_by(task_table.c.state)
        async with tasks.database.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return {str(state): float(count) for state, count in rows}

    return read


class _PoolCollector:
    """The SQLAlchemy pools' numbers, read when Prometheus scrapes."""

    def __init__(self, prefix: str, databases: list[Database]) -> None:
        self.prefix = prefix
        self.databases = databases

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        readings = {
            "checked_out": ("checkedout", "Database connections in use."),
            "checked_in": ("checkedin", "Idle database connections in the pool."),
            "overflow": ("overflow", "Connections opened beyond the pool size."),
            "size": ("size", "The pool's configured size."),
        }
        for key, (method, doc) in readings.items():
            family = GaugeMetricFamily(f"{self.prefix}_db_pool_{key}", doc, labels=["database"])
            for db in self.databases:
                read = getattr(db.engine.pool, method, None)  # NullPool and SQLite's have fewer
                if callable(read):
                    family.add_metric([db.name], float(read()))
            yield family
