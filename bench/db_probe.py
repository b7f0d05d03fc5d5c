"""Where a database request's cost goes: CPU time of this process per request, in-process.

Drives the ``bare`` (raw asyncpg, the ceiling) and ``plaitdb`` apps' data-path endpoints
(and the peers' with ``--apps``: ``fastapidb``, ``djangodb``, ``litestardb``; some of the
endpoints with ``--endpoints``) through ASGI with no server and no sockets to the
client, against PostgreSQL or SQLite. Every app is started at once and the endpoints take turns, round
after round, so that a change in the machine's load touches them all alike; the figure is
the median over rounds of the Python process's CPU time per request (``time.process_time``:
steadier than wall time when other work shares the machine). A profiled pass then counts,
per request, the Python function calls (a deterministic measure of the work, like
callgrind's instructions) and the round trips to the database: socket writes to
PostgreSQL; on SQLite the thread hops, calls queued to an aiosqlite connection's thread.

    BENCH_DB=postgres bench/.venv/bin/python bench/db_probe.py [--rounds 7] [--requests 300]
    bench/.venv/bin/python bench/db_probe.py --db sqlite   # a SQLite file of its own

With ``plaitdb``, its reads through ORM objects (``/orm/db``: ``session.get``, and the
``/orm/...`` twins of ``/queries``, ``/cities`` and ``/fortunes``) are timed too, each
shown under the endpoint it twins and compared with the raw app's.

``--uvloop`` runs the timing on uvloop, as the servers do (the counts always run on
asyncio's loop: uvloop's socket writes are not Python calls to count).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "apps"))

ENDPOINTS = ["/db", "/worlds/42", "/queries?queries=20", "/cities", "/fortunes", "/updates?queries=20", "POST /worlds"]  # fmt: skip
ORM_TWINS = {
    "/orm/db": "/db",
    "/orm/queries?queries=20": "/queries?queries=20",
    "/orm/cities": "/cities",
    "/orm/fortunes": "/fortunes",
}
"""plaitdb's reads through ORM objects (``session.get``, ``session.scalars``), each timed
beside the endpoint it twins and compared with the raw app's."""
MANY = ("queries=", "/cities", "/updates", "POST")  # 20 rows, or a write: a tenth of the requests
CREATE = b'{"randomNumber": 42}'


async def _asgi_get(app: Any, path: str) -> int:
    """``path`` with a GET, or a ``"POST /worlds"`` with a small JSON body."""
    status = 0
    body_sent = False
    method, _, path = path.rpartition(" ")
    method = method or "GET"
    body = CREATE if method == "POST" else b""

    received = False

    async def receive() -> dict[str, Any]:
        nonlocal received
        if received:  # Django listens for a disconnect while it answers: none comes
            await asyncio.get_running_loop().create_future()
        received = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, body_sent
        if message["type"] == "http.response.start":
            status = message["status"]
        else:
            body_sent = True

    path, _, query = path.partition("?")
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": query.encode(),
        "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000), "state": {},
    }  # fmt: skip
    await app(scope, receive, send)
    assert body_sent
    return status


async def _lifespan(app: Any) -> Callable[[], Awaitable[None]]:
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    done = asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        done.set()

    task = asyncio.create_task(app({"type": "lifespan", "state": {}}, inbox.get, send))
    inbox.put_nowait({"type": "lifespan.startup"})
    started = asyncio.ensure_future(done.wait())
    await asyncio.wait([task, started], return_when=asyncio.FIRST_COMPLETED)
    if task.done():  # an app without a lifespan (Django's refuses it): nothing to stop
        started.cancel()
        task.exception()

        async def nothing() -> None:
            pass

        return nothing

    async def stop() -> None:
        done.clear()
        inbox.put_nowait({"type": "lifespan.shutdown"})
        await done.wait()
        await task

    return stop


_ROUND_TRIPS = {
    "<method 'send' of '_socket.socket' objects>",  # a write to PostgreSQL's socket
    # a call queued to an aiosqlite connection's thread (a thread hop there and back)
    "<method 'put_nowait' of '_queue.SimpleQueue' objects>",
}


def _count(profile: cProfile.Profile, requests: int) -> tuple[float, float]:
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    calls = sum(value[1] for value in stats.values())
    writes = sum(value[0] for key, value in stats.items() if key[2] in _ROUND_TRIPS)
    return calls / requests, writes / requests


async def _apps(names: list[str]) -> tuple[dict[str, Any], list[Callable[[], Awaitable[None]]]]:
    apps, stops = {}, []
    for name in names:
        apps[name] = __import__(f"{name}_app").app
        stops.append(await _lifespan(apps[name]))
    return apps, stops


async def timing(
    names: list[str], paths: list[str], rounds: int, requests: int
) -> dict[tuple[str, str], float]:
    """Median CPU µs per request of each app and endpoint, the endpoints taking turns."""
    apps, stops = await _apps(names)
    samples: dict[tuple[str, str], list[float]] = {(n, p): [] for p in paths for n in names}
    if "plaitdb" in names:
        samples.update({("plaitdb", t): [] for t, path in ORM_TWINS.items() if path in paths})
    try:
        for (name, path), _ in samples.items():
            for _ in range(20):  # warm: connections open, statements prepared
                assert await _asgi_get(apps[name], path) in (200, 201), (name, path)
        for _ in range(rounds):
            for (name, path), found in samples.items():
                count = max(1, requests // (10 if any(m in path for m in MANY) else 1))
                began = time.process_time()
                for _ in range(count):
                    await _asgi_get(apps[name], path)
                found.append((time.process_time() - began) / count * 1e6)
    finally:
        for stop in stops:
            await stop()
    return {key: statistics.median(found) for key, found in samples.items()}


async def counts(
    names: list[str], paths: list[str], requests: int = 50
) -> dict[tuple[str, str], tuple[float, float]]:
    """Python calls and socket writes per request (a profiled pass on asyncio's loop)."""
    apps, stops = await _apps(names)
    found = {}
    try:
        pairs = [(name, path) for path in paths for name in names]
        if "plaitdb" in names:
            pairs += [("plaitdb", t) for t, path in ORM_TWINS.items() if path in paths]
        for name, path in pairs:
            for _ in range(5):
                await _asgi_get(apps[name], path)
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(requests):
                await _asgi_get(apps[name], path)
            profile.disable()
            found[name, path] = _count(profile, requests)
    finally:
        for stop in stops:
            await stop()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--apps", default="bare,plaitdb", help="from bare,plaitdb,fastapidb,djangodb,litestardb"
    )
    parser.add_argument(
        "--endpoints",
        default=",".join(ENDPOINTS),
        help=f"comma-separated, from {','.join(ENDPOINTS)} (default all)",
    )
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=300, help="per round (a tenth for 20 rows)")
    parser.add_argument("--uvloop", action="store_true", help="time on uvloop")
    parser.add_argument(
        "--db", choices=["postgres", "sqlite"], default=os.environ.get("BENCH_DB", "postgres")
    )
    args = parser.parse_args()
    os.environ["BENCH_DB"] = args.db
    if args.db == "sqlite" and "BENCH_SQLITE" not in os.environ:
        import benchdb

        # A file of this run's own (the updates and creates write to it).
        os.environ["BENCH_SQLITE"] = str(Path(tempfile.mkdtemp()) / "probe.sqlite3")
        benchdb.create_sqlite(os.environ["BENCH_SQLITE"])
    names = args.apps.split(",")
    paths = args.endpoints.split(",")
    if args.uvloop:
        import uvloop

        cpu = uvloop.run(timing(names, paths, args.rounds, args.requests))
    else:
        cpu = asyncio.run(timing(names, paths, args.rounds, args.requests))
    work = asyncio.run(counts(names, paths))
    trips = "thread hops" if args.db == "sqlite" else "socket writes"
    print(f"| app | endpoint | CPU µs per request | of the raw app | Python calls | {trips} |")
    print("|---|---|---:|---:|---:|---:|")
    twins = {path: twin for twin, path in ORM_TWINS.items()} if "plaitdb" in names else {}
    for path in paths:
        rows = [(name, path) for name in names]
        if path in twins:
            rows.append(("plaitdb", twins[path]))
        for name, served in rows:
            ratio = cpu["bare", path] / cpu[name, served] if "bare" in names else float("nan")
            calls, writes = work[name, served]
            print(
                f"| {name} | `{served}` | {cpu[name, served]:,.0f} | {ratio:.2f} | {calls:,.0f} |"
                f" {writes:.1f} |"
            )


if __name__ == "__main__":
    main()
