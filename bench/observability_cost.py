"""What each observability battery costs per request, timed in-process (no server, no sockets).

Drives ``GET /items/{item_id:int}`` (a plain handler returning a dict) through the app's ASGI
entry point with tiny fake ``receive``/``send``, ``--requests`` times, for each set-up below,
and prints microseconds per request (the best of ``--repeats`` runs, so other load on the
machine counts as little as possible) and the difference from the bare app:

- bare: no middleware at all (plait's fastest path);
- access log, off: ``AccessLog(app)`` with the ``plait.access`` logger below INFO;
- access log, on: JSON lines through ``configure_json_logging``'s queue to /dev/null;
- metrics: ``Metrics(app)`` (prometheus-client);
- tracing: ``Tracing(app)`` with a batching processor and an exporter that drops spans;
- all three on.

``/healthz`` and ``/readyz`` cost nothing per request; their own cost is printed last
(``/readyz`` with a SQLite ``SELECT 1`` and, if it answers, a Redis ``PING``).

    python bench/observability_cost.py --requests 20000 --repeats 5
    python bench/observability_cost.py --callgrind      # instructions per request instead

``--callgrind`` counts CPU instructions with valgrind (N and 2N requests, the difference over
N, as bench/callgrind.py does): a figure that does not move with the machine's load. There the
access log writes through a plain handler to /dev/null and spans are exported as they end,
so the work done by logging and export threads is counted in the request.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from plait import App
from plait.observability import (
    AccessLog,
    Health,
    Metrics,
    Tracing,
    configure_json_logging,
    database_check,
    redis_check,
)


class DropSpans(SpanExporter):
    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


class Passthrough:
    """An empty pure-ASGI middleware: what any middleware costs before doing anything."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def make(
    *,
    log: bool = False,
    metrics: bool = False,
    tracing: bool = False,
    batch: bool = True,
    empty: bool = False,
) -> App:
    app = App(openapi_url=None)
    if empty:
        app.add_middleware(Passthrough)
    if log:
        AccessLog(app)
    if metrics:
        Metrics(app)
    if tracing:
        Tracing(app, exporter=DropSpans(), batch=batch)

    @app.get("/items/{item_id:int}")
    async def item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    return app


def scope(path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"bench")],
        "client": ("127.0.0.1", 5000),
        "server": ("bench", 80),
    }


async def drive(app: App, requests: int, path: str = "/items/7") -> float:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        pass

    await app.startup()
    start = time.perf_counter()
    for _ in range(requests):
        await app(scope(path), receive, send)
    elapsed = time.perf_counter() - start
    await app.shutdown()
    return elapsed / requests * 1e6


def best(factory: Callable[[], App], requests: int, repeats: int, path: str = "/items/7") -> float:
    return min(asyncio.run(drive(factory(), requests, path)) for _ in range(repeats))


SETUPS: dict[str, tuple[dict[str, bool], int]] = {
    # name: (make() options, plait.access level)
    "bare": ({}, logging.WARNING),
    "one empty middleware": ({"empty": True}, logging.WARNING),
    "access log, off": ({"log": True}, logging.WARNING),
    "access log, on": ({"log": True}, logging.INFO),
    "metrics": ({"metrics": True}, logging.WARNING),
    "tracing": ({"tracing": True, "batch": False}, logging.WARNING),
    "all three": ({"log": True, "metrics": True, "tracing": True, "batch": False}, logging.INFO),
}


def child(setup: str, count: int) -> None:
    """Serve ``count`` requests with ``setup`` (in the process valgrind watches)."""
    from plait.observability import JSONFormatter

    options, level = SETUPS[setup]
    access = logging.getLogger("plait.access")
    handler = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115 - process ends
    handler.setFormatter(JSONFormatter())
    access.addHandler(handler)
    access.propagate = False
    access.setLevel(level)
    app = make(**options)
    asyncio.run(app.startup())
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    for _ in range(50 + count):
        coro = app(scope("/items/7"), receive, send)
        try:
            coro.send(None)
        except StopIteration:
            continue
        raise SystemExit("the request suspended")
    if set(statuses) != {200}:
        raise SystemExit(f"statuses {sorted(set(statuses))}")


def instructions(setup: str, count: int) -> float:
    def run(n: int, out: str) -> int:
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable]
        cmd += [__file__, "--child", setup, str(n)]
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        match = re.search(r"Collected : (\d+)", proc.stderr)
        if proc.returncode or match is None:
            raise SystemExit(proc.stdout + proc.stderr)
        return int(match.group(1))

    with tempfile.TemporaryDirectory() as tmp:
        return (run(2 * count, f"{tmp}/b") - run(count, f"{tmp}/a")) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--callgrind", action="store_true")
    parser.add_argument("--setups", help="comma-separated set-ups (default: all)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    if args.callgrind:
        names = args.setups.split(",") if args.setups else list(SETUPS)
        counts = {name: instructions(name, 1000) for name in ["bare", *names] if name in SETUPS}
        print(f"{'set-up':<22} {'instructions/request':>21} {'added':>9}")
        for name, count in counts.items():
            print(f"{name:<22} {count / 1000:>20.1f}k {(count - counts['bare']) / 1000:>+8.1f}k")
        return
    access = logging.getLogger("plait.access")
    devnull = open(os.devnull, "w")  # noqa: SIM115 - closed at the end
    listener = configure_json_logging(stream=devnull)
    rows: list[tuple[str, float]] = []
    n, r = args.requests, args.repeats
    rows.append(("bare", best(make, n, r)))
    access.setLevel(logging.WARNING)
    rows.append(("access log, off", best(lambda: make(log=True), n, r)))
    access.setLevel(logging.INFO)
    rows.append(("access log, on", best(lambda: make(log=True), n, r)))
    access.setLevel(logging.WARNING)
    rows.append(("metrics", best(lambda: make(metrics=True), n, r)))
    rows.append(("tracing", best(lambda: make(tracing=True), n, r)))
    access.setLevel(logging.INFO)
    rows.append(("all three", best(lambda: make(log=True, metrics=True, tracing=True), n, r)))
    listener.stop()
    base = rows[0][1]
    print(f"{'set-up':<18} {'µs/request':>11} {'added':>8}")
    for name, micros in rows:
        print(f"{name:<18} {micros:>11.1f} {micros - base:>+8.1f}")

    from plait.db import Database

    def health_app() -> App:
        app = App(openapi_url=None)
        db = Database(app, "sqlite+aiosqlite:///:memory:")
        checks = {"database": database_check(db), "redis": redis_check(args.redis_url)}
        Health(app, checks=checks)
        return app

    live = best(health_app, 2000, r, "/healthz")
    ready = best(health_app, 200, r, "/readyz")
    print(f"/healthz: {live:.1f} µs a call; /readyz (SQLite + Redis): {ready / 1000:.2f} ms a call")
    devnull.close()


if __name__ == "__main__":
    main()
