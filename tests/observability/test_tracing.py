"""plait.observability.Tracing: one span per request, named by route template; DB spans."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy import text

from plait import App, HTTPException
from plait.db import Database, Session
from plait.observability import Tracing
from plait.testing import TestClient


def traced_app() -> tuple[App, InMemorySpanExporter]:
    app = App()
    exporter = InMemorySpanExporter()
    Tracing(app, exporter=exporter, batch=False, service_name="shop")

    @app.get("/items/{item_id:int}")
    def item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    @app.get("/broken")
    def broken() -> None:
        raise RuntimeError("boom")

    @app.get("/teapot")
    def teapot() -> None:
        raise HTTPException(418)

    return app, exporter


def test_a_span_per_request_named_by_its_route_template() -> None:
    app, exporter = traced_app()
    with TestClient(app) as client:
        client.get("/items/1")
        client.get("/items/2")
    spans = exporter.get_finished_spans()
    assert [span.name for span in spans] == ["GET /items/{item_id:int}"] * 2
    span = spans[0]
    assert span.kind is SpanKind.SERVER
    assert span.attributes is not None
    assert span.attributes["http.route"] == "/items/{item_id:int}"
    assert span.attributes["http.request.method"] == "GET"
    assert span.attributes["url.path"] == "/items/1"
    assert span.attributes["http.response.status_code"] == 200
    assert span.end_time is not None
    assert span.start_time is not None
    assert span.end_time > span.start_time  # the duration
    assert span.resource.attributes["service.name"] == "shop"
    assert span.status.status_code is StatusCode.UNSET


def test_errors_and_unmatched_paths() -> None:
    app, exporter = traced_app()
    with TestClient(app) as client:
        assert client.get("/broken").status_code == 500
        assert client.get("/teapot").status_code == 418
        assert client.get("/nowhere/at/all").status_code == 404
    broken, teapot, missing = exporter.get_finished_spans()
    assert broken.status.status_code is StatusCode.ERROR
    assert teapot.status.status_code is StatusCode.UNSET  # a 4xx is the client's error
    assert teapot.attributes is not None
    assert teapot.attributes["http.response.status_code"] == 418
    assert missing.name == "GET"  # never the raw path
    assert missing.attributes is not None
    assert "http.route" not in missing.attributes


def test_an_incoming_traceparent_is_continued() -> None:
    app, exporter = traced_app()
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    parent = f"00-{trace_id}-00f067aa0ba902b7-01"
    with TestClient(app) as client:
        client.get("/items/1", headers={"traceparent": parent})
    (span,) = exporter.get_finished_spans()
    assert format(span.context.trace_id, "032x") == trace_id
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == "00f067aa0ba902b7"


def test_database_queries_get_spans_inside_the_request_span(tmp_path: Path) -> None:
    app = App()
    db = Database(app, f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}")
    exporter = InMemorySpanExporter()
    Tracing(app, exporter=exporter, batch=False, database=db)

    @app.get("/count")
    async def count(session: Session) -> int:
        return int((await session.execute(text("SELECT 40 + 2"))).scalar_one())

    with TestClient(app) as client:
        assert client.get("/count").json() == 42
    spans = exporter.get_finished_spans()
    request = next(span for span in spans if span.name == "GET /count")
    queries = [span for span in spans if span.attributes and "db.statement" in span.attributes]
    if not queries:  # newer semantic conventions
        queries = [s for s in spans if s.attributes and "db.query.text" in s.attributes]
    assert queries, [span.name for span in spans]
    assert all(q.context.trace_id == request.context.trace_id for q in queries)
    assert any(
        q.parent is not None and q.parent.span_id == request.context.span_id for q in queries
    )


def test_exporter_and_provider_are_exclusive() -> None:
    from opentelemetry.sdk.trace import TracerProvider

    with pytest.raises(TypeError, match="not both"):
        Tracing(App(), exporter=InMemorySpanExporter(), tracer_provider=TracerProvider())
