"""OpenTelemetry traces: a server span per request, named by its route template."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from plait._optional import require
from plait.observability._routes import UNMATCHED, StatusSend, route_template
from plait.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer, TracerProvider

    from plait._app import App
    from plait.db import Database

__all__ = ["Tracing", "TracingMiddleware"]

_INSTRUMENTATION = "plait.observability"


class _HeaderGetter:
    """Reads the W3C ``traceparent``/``tracestate`` headers from an ASGI header list."""

    def get(self, carrier: Scope, key: str) -> list[str] | None:
        wanted = key.lower().encode("latin-1")
        values = [v.decode("latin-1") for k, v in carrier["headers"] if k == wanted]
        return values or None

    def keys(self, carrier: Scope) -> list[str]:
        return [k.decode("latin-1") for k, _ in carrier["headers"]]


class TracingMiddleware:
    """Pure ASGI: one ``SERVER`` span per HTTP request, continuing an incoming trace.

    The span is named ``"GET /items/{item_id}"`` once the router has matched (plain
    ``"GET"`` for a request no route matched) and carries ``http.request.method``,
    ``url.path``, ``http.route``, ``http.response.status_code`` and the client address; its
    start and end are the request's duration. A 5xx marks it as an error.
    """

    def __init__(self, app: ASGIApp, *, tracer: Tracer) -> None:
        from opentelemetry import propagate, trace

        self.app = app
        self.tracer = tracer
        self._extract = propagate.extract
        self._getter = _HeaderGetter()
        self._server = trace.SpanKind.SERVER
        self._error = trace.Status(trace.StatusCode.ERROR)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        client = scope.get("client")
        attributes: dict[str, Any] = {
            "http.request.method": method,
            "url.path": scope["path"],
            "url.scheme": scope.get("scheme", "http"),
        }
        if client:
            attributes["client.address"] = client[0]
        context = self._extract(scope, getter=self._getter)  # type: ignore[arg-type]
        send_status = StatusSend(send)

        with self.tracer.start_as_current_span(
            method, context=context, kind=self._server, attributes=attributes
        ) as span:
            try:
                await self.app(scope, receive, send_status)
            finally:
                template = route_template(scope)
                if template != UNMATCHED:
                    span.update_name(f"{method} {template}")
                    span.set_attribute("http.route", template)
                status = send_status.status
                span.set_attribute("http.response.status_code", status or 500)
                if not status or status >= 500:
                    span.set_status(self._error)


class Tracing:
    """OpenTelemetry tracing for an app, with database query spans::

        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        from plait.observability import Tracing

        Tracing(app, exporter=ConsoleSpanExporter(), database=db)

    ``exporter`` is any OpenTelemetry ``SpanExporter`` (OTLP, console, the SDK's
    ``InMemorySpanExporter`` in tests); it gets a ``TracerProvider`` of its own, named
    ``service_name``, with a batching processor (``batch=False`` exports each span as it
    ends). Without ``exporter`` and ``tracer_provider`` the global provider is used, so
    ``opentelemetry-instrument`` and ``OTEL_*`` settings work as usual. ``database`` (a
    ``plait.db.Database``, or several) adds a span per SQL statement through
    opentelemetry-instrumentation-sqlalchemy. Needs ``pip install 'plait[otel]'``.
    """

    def __init__(
        self,
        app: App,
        *,
        exporter: SpanExporter | None = None,
        tracer_provider: TracerProvider | None = None,
        service_name: str | None = None,
        batch: bool = True,
        database: Database | Iterable[Database] | None = None,
    ) -> None:
        require("opentelemetry.sdk", "otel", "Tracing")
        from opentelemetry import trace

        if exporter is not None:
            if tracer_provider is not None:
                raise TypeError("Pass an exporter or a tracer_provider, not both")
            tracer_provider = _provider(exporter, service_name or app.title, batch)
        self.tracer_provider = tracer_provider
        self._instrumented: set[int] = set()
        self.tracer = trace.get_tracer(_INSTRUMENTATION, tracer_provider=tracer_provider)
        app.add_middleware(TracingMiddleware, tracer=self.tracer)
        if database is not None:
            databases = [database] if not isinstance(database, Iterable) else list(database)
            require("opentelemetry.instrumentation.sqlalchemy", "otel", "Tracing(database=...)")

            def instrument() -> None:
                for db in databases:
                    self.instrument_engine(db.engine.sync_engine)

            app.on_startup(instrument)
        if exporter is not None:
            app.on_shutdown(self.shutdown)

    def instrument_engine(self, engine: Any) -> None:
        """Add a span per SQL statement run on ``engine`` (a SQLAlchemy sync ``Engine``)."""
        from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
        from opentelemetry.instrumentation.sqlalchemy.version import __version__
        from opentelemetry.metrics import get_meter
        from opentelemetry.trace import get_tracer

        if id(engine) in self._instrumented:
            return
        self._instrumented.add(id(engine))
        name = "opentelemetry.instrumentation.sqlalchemy"
        tracer = get_tracer(name, __version__, self.tracer_provider)
        usage = get_meter(name, __version__).create_up_down_counter(
            "db.client.connections.usage", unit="connections"
        )
        EngineTracer(tracer, engine, usage)  # type: ignore[no-untyped-call]

    def shutdown(self) -> None:
        """Export what is left and stop the provider this object created."""
        shutdown = getattr(self.tracer_provider, "shutdown", None)
        if shutdown is not None:
            shutdown()


def _provider(exporter: SpanExporter, service_name: str, batch: bool) -> TracerProvider:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider as SDKProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = SDKProvider(resource=Resource.create({"service.name": service_name}))
    processor = BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    return provider
