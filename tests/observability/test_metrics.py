"""plait.observability.Metrics: Prometheus counters by route template, latency, gauges."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from plait import App
from plait.observability import Metrics
from plait.testing import TestClient


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_requests_are_counted_and_timed_by_route_template_not_raw_path() -> None:
    app = App()
    Metrics(app)

    @app.get("/items/{item_id:int}")
    def item(item_id: int) -> int:
        return item_id

    with TestClient(app) as client:
        for n in range(3):
            client.get(f"/items/{n}")
        client.get("/wp-login.php")
        client.get("/also/not/here")
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    found = samples(response.text)
    route = (("method", "GET"), ("route", "/items/{item_id:int}"), ("status", "200"))
    assert found[("plait_requests_total", route)] == 3
    unmatched = (("method", "GET"), ("route", "<unmatched>"), ("status", "404"))
    assert found[("plait_requests_total", unmatched)] == 2
    assert not [key for key in found if "wp-login" in str(key)]
    timing = (("method", "GET"), ("route", "/items/{item_id:int}"))
    assert found[("plait_request_duration_seconds_count", timing)] == 3
    assert found[("plait_request_duration_seconds_sum", timing)] > 0
    assert found[("plait_requests_in_progress", ())] == 1  # the scrape itself


def test_custom_gauges_and_the_database_pool(tmp_path: Path) -> None:
    from plait.db import Database

    app = App()
    db = Database(app, f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}")
    metrics = Metrics(app, database=db)
    queue = [1, 2, 3]
    metrics.gauge("jobs_waiting", "Jobs in the queue.", lambda: len(queue))
    with TestClient(app) as client:
        found = samples(client.get("/metrics").text)
    assert found[("plait_jobs_waiting", ())] == 3
    assert ("plait_db_pool_checked_out", (("database", "default"),)) in found


def test_metrics_without_a_route_render_on_demand() -> None:
    app = App()
    metrics = Metrics(app, path=None)

    @app.get("/")
    def index() -> str:
        return "hi"

    with TestClient(app) as client:
        client.get("/")
        assert client.get("/metrics").status_code == 404
    assert b'plait_requests_total{method="GET",route="/",status="200"} 1.0' in metrics.render()


def test_tasks_by_state_are_a_gauge(tmp_path: Path) -> None:
    from plait.db import Database
    from plait.tasks import Tasks

    app = App()
    Database(app, f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}", auto_migrate=True)
    tasks = Tasks(app)

    @tasks.task()
    async def later(n: int) -> None:
        pass

    Metrics(app, tasks=tasks)

    @app.post("/later")
    async def enqueue() -> None:
        await later.enqueue(1, delay=3600)  # waits an hour: still pending at the scrape

    with TestClient(app) as client:
        client.post("/later")
        client.post("/later")
        found = samples(client.get("/metrics").text)
    assert found[("plait_tasks", (("state", "pending"),))] == 2
