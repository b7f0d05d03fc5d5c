"""Where a database request's cost goes: CPU time of this process per request, in-process.

Drives the ``bare``, ``plait`` and ``plaitdb`` apps' ``/db`` (and the others' database
endpoints) through ASGI with no server and no sockets to the client, against PostgreSQL,
and reports the Python process's CPU time per request (``time.process_time``: steady when
other work shares the machine, unlike wall time) and the socket writes per request (round
trips to the database), on asyncio's own event loop. Also the raw floor: one ``asyncpg`` ``fetchrow`` on a held
connection.

    BENCH_DB=postgres bench/.venv/bin/python bench/db_probe.py [--requests 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "apps"))


def _writes(profile: cProfile.Profile) -> int:
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    return sum(
        value[0]
        for key, value in stats.items()
        if key[2] in ("<method 'send' of '_socket.socket' objects>",)
    )


async def _asgi_get(app: Any, path: str) -> int:
    status = 0
    body_sent = False

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, body_sent
        if message["type"] == "http.response.start":
            status = message["status"]
        else:
            body_sent = True

    path, _, query = path.partition("?")
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": query.encode(), "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000), "state": {},
    }  # fmt: skip
    await app(scope, receive, send)
    assert body_sent
    return status


async def _lifespan(app: Any) -> Any:
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    done = asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        done.set()

    task = asyncio.create_task(app({"type": "lifespan", "state": {}}, inbox.get, send))
    inbox.put_nowait({"type": "lifespan.startup"})
    await done.wait()

    async def stop() -> None:
        done.clear()
        inbox.put_nowait({"type": "lifespan.shutdown"})
        await done.wait()
        await task

    return stop


async def measure(name: str, path: str, count: int) -> tuple[float, float]:
    module = __import__(f"{name}_app")
    stop = await _lifespan(module.app)
    try:
        for _ in range(50):
            assert await _asgi_get(module.app, path) == 200
        began = time.process_time()
        for _ in range(count):
            await _asgi_get(module.app, path)
        cpu = time.process_time() - began
        profile = cProfile.Profile()  # a shorter run, profiled, counts the socket writes
        profile.enable()
        for _ in range(50):
            await _asgi_get(module.app, path)
        profile.disable()
    finally:
        await stop()
    return cpu / count * 1e6, _writes(profile) / 50


async def raw_floor(count: int) -> float:
    import asyncpg
    from benchdb import WORLD_SQL_ASYNCPG, _pg_dsn, random_id

    connection = await asyncpg.connect(_pg_dsn())
    try:
        statement = await connection.prepare(WORLD_SQL_ASYNCPG)
        began = time.process_time()
        for _ in range(count):
            await statement.fetchrow(random_id())
        return (time.process_time() - began) / count * 1e6
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    os.environ.setdefault("BENCH_DB", "postgres")
    run = asyncio.run  # not uvloop: its socket writes are not Python calls to count
    print(
        f"raw asyncpg fetchrow (prepared, held connection): {run(raw_floor(args.requests)):.0f} µs CPU"
    )
    print()
    print("| app | endpoint | CPU µs per request (this process) | socket writes per request |")
    print("|---|---|---:|---:|")
    for name in ("bare", "plait", "plaitdb", "fastapidb"):
        for path in ("/db", "/queries?queries=20", "/fortunes"):
            cpu, writes = run(
                measure(name, path, args.requests // (10 if "queries" in path else 1))
            )
            print(f"| {name} | `{path}` | {cpu:.0f} | {writes:.1f} |")
    for name in ("plaitdb", "fastapidb"):
        for path in ("/worlds/42", "/updates?queries=20"):
            count = args.requests // (10 if "queries" in path else 1)
            cpu, writes = run(measure(name, path, count))
            print(f"| {name} | `{path}` | {cpu:.0f} | {writes:.1f} |")


if __name__ == "__main__":
    main()
