"""What the response cache and the rate limits cost per request, on memory and on Redis.

    python bench/scale_costs.py                 # 5 repeats x 2000 requests per variant
    python bench/scale_costs.py --requests 500 --repeats 3 --redis redis://127.0.0.1:6379/15
    python bench/scale_costs.py --instructions --requests 1000   # valgrind: CPU, not time

Each variant is one small plait app called in-process over ASGI (no server, no sockets to
the client), so the numbers are the app's own time per request: routing, the middleware or
dependency, the handler, the response. Redis variants include the round trips to the Redis
server (on loopback here). Variants run in a rotated order at each repeat, so a change in the
machine's background load does not land on one of them; the table gives the median over the
repeats of the mean time per request, and the difference from the bare app.

Keys are written under a prefix of this run's own and deleted at the end (never a flush).

Results on the development machine (2 cores shared with other work, 2026-12-07), in the
table of ``docs/benchmarks.md`` ("Rate limiting and the response cache").
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from plait import App
from plait.cache import Cache, MemoryBackend, RedisBackend
from plait.ratelimit import RateLimiter

BODY = {"items": [{"id": i, "name": f"item {i}", "price": i * 1.5} for i in range(20)]}
HUGE = "1000000000/hour"


def bare() -> App:
    app = App()

    @app.get("/")
    async def index() -> dict[str, Any]:
        return BODY

    return app


def cached(backend: Any, prefix: str) -> App:
    app = App()
    cache = Cache(app, backend=backend, prefix=prefix)

    @app.get("/")
    @cache.page(ttl=3600)
    async def index() -> dict[str, Any]:
        return BODY

    return app


def limited_dependency(storage: str, prefix: str, strategy: str, headers: bool = True) -> App:
    app = App()
    limiter = RateLimiter(app, storage=storage, prefix=prefix)
    rule = limiter.limit(HUGE, strategy=strategy, headers=headers)  # type: ignore[arg-type]

    @app.get("/", dependencies=[rule])
    async def index() -> dict[str, Any]:
        return BODY

    return app


def limited_middleware(storage: str, prefix: str) -> App:
    app = App()
    limiter = RateLimiter(app, storage=storage, prefix=prefix)
    limiter.middleware(HUGE)

    @app.get("/")
    async def index() -> dict[str, Any]:
        return BODY

    return app


SCOPE = {
    "type": "http",
    "asgi": {"version": "3.0"},
    "http_version": "1.1",
    "method": "GET",
    "scheme": "http",
    "path": "/",
    "raw_path": b"/",
    "query_string": b"",
    "root_path": "",
    "headers": [(b"host", b"bench"), (b"accept", b"application/json")],
    "client": ("127.0.0.1", 50000),
    "server": ("127.0.0.1", 8000),
}


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def measure(app: App, requests: int) -> tuple[float, float]:
    """Mean wall and CPU seconds per request over ``requests`` sequential requests (after a
    warm-up). CPU time is this process's only: the Redis server's work is not in it."""
    statuses: list[int] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    for _ in range(20):
        await app(dict(SCOPE), _receive, send)
    statuses.clear()
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(requests):
        await app(dict(SCOPE), _receive, send)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert statuses == [200] * requests, sorted(set(statuses))
    return elapsed / requests, cpu / requests


def variants(redis_url: str, prefix: str) -> dict[str, Callable[[], App]]:
    """The apps measured, by name (each makes a fresh app on call)."""
    return {
        "bare app": bare,
        "page cache hit, memory": lambda: cached(MemoryBackend(), prefix + ":m:"),
        "page cache hit, Redis": lambda: cached(RedisBackend(redis_url), prefix + ":r:"),
        "rate-limit dependency, memory, fixed": lambda: limited_dependency(
            "memory://", prefix + ":dm", "fixed"
        ),
        "rate-limit dependency, memory, sliding": lambda: limited_dependency(
            "memory://", prefix + ":dms", "sliding"
        ),
        "rate-limit dependency, Redis, fixed": lambda: limited_dependency(
            redis_url, prefix + ":dr", "fixed"
        ),
        "rate-limit dependency, Redis, sliding": lambda: limited_dependency(
            redis_url, prefix + ":drs", "sliding"
        ),
        "rate-limit dependency, Redis, fixed, no headers": lambda: limited_dependency(
            redis_url, prefix + ":drn", "fixed", headers=False
        ),
        "rate-limit middleware, memory, fixed": lambda: limited_middleware(
            "memory://", prefix + ":mm"
        ),
        "rate-limit middleware, Redis, fixed": lambda: limited_middleware(
            redis_url, prefix + ":mr"
        ),
    }


async def main(requests: int, repeats: int, redis_url: str) -> None:
    prefix = f"plait-bench:{uuid.uuid4().hex[:8]}"
    apps = {name: make() for name, make in variants(redis_url, prefix).items()}
    for app in apps.values():
        await app.startup()
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in apps}
    names = list(apps)
    try:
        for repeat in range(repeats):
            order = names[repeat % len(names) :] + names[: repeat % len(names)]
            for name in order:
                results[name].append(await measure(apps[name], requests))
    finally:
        for app in apps.values():
            await app.shutdown()
        await _cleanup(redis_url, prefix)
    round_trip = await _redis_round_trip(redis_url, requests)
    base = statistics.median(wall for wall, _ in results["bare app"])
    base_cpu = statistics.median(cpu for _, cpu in results["bare app"])
    print(f"{requests} requests x {repeats} repeats; median of the per-repeat means, in us")
    print(f"{'variant':48} {'wall':>9} {'vs bare':>9} {'CPU':>9} {'vs bare':>9}")
    for name in names:
        wall = statistics.median(w for w, _ in results[name])
        cpu = statistics.median(c for _, c in results[name])
        print(
            f"{name:48} {wall * 1e6:9.1f} {(wall - base) * 1e6:+9.1f}"
            f" {cpu * 1e6:9.1f} {(cpu - base_cpu) * 1e6:+9.1f}"
        )
    trip_wall, trip_cpu = round_trip
    print(
        f"{'(one redis-py GET, for scale)':48} {trip_wall * 1e6:9.1f} {'':9} {trip_cpu * 1e6:9.1f}"
    )


async def _redis_round_trip(redis_url: str, count: int) -> tuple[float, float]:
    """Wall and CPU seconds for one plain redis-py GET on this machine now: the unit Redis
    costs are counted in."""
    import redis.asyncio

    client = redis.asyncio.from_url(redis_url)
    await client.get("plait-bench:none")
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        await client.get("plait-bench:none")
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    await client.aclose()
    return elapsed / count, cpu / count


async def _cleanup(redis_url: str, prefix: str) -> None:
    import redis.asyncio

    client = redis.asyncio.from_url(redis_url)
    keys = [key async for key in client.scan_iter(match=prefix + "*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def child(name: str, count: int, redis_url: str) -> None:
    """Serve ``count`` requests of one variant (in the process valgrind watches)."""
    prefix = f"plait-bench:{uuid.uuid4().hex[:8]}"
    app = variants(redis_url, prefix)[name]()
    await app.startup()
    try:
        await measure(app, count)
    finally:
        await app.shutdown()
        await _cleanup(redis_url, prefix)


def _instructions(name: str, count: int, redis_url: str, out: str) -> int:
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable]
    cmd += [__file__, "--redis", redis_url, "--child", name, str(count)]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    match = re.search(r"Collected : (\d+)", proc.stderr)
    if proc.returncode or match is None:
        raise SystemExit(proc.stdout + proc.stderr)
    return int(match.group(1))


def instructions(count: int, redis_url: str, only: str) -> None:
    """Instructions per request in the app's process (valgrind): independent of the load."""
    print(f"instructions per request in the app process (valgrind; {count} vs {2 * count})")
    print(f"{'variant':48} {'instr/request':>13} {'vs bare':>9}")
    base = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for name in variants(redis_url, "x"):
            if only and name != "bare app" and not any(w in name for w in only.split(",")):
                continue
            low = _instructions(name, count, redis_url, f"{tmp}/a")
            high = _instructions(name, count * 2, redis_url, f"{tmp}/b")
            per = (high - low) / count
            base = base or per
            print(f"{name:48} {per:13,.0f} {per - base:+9,.0f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--instructions", action="store_true", help="count with valgrind")
    parser.add_argument("--only", default="", help="variants whose name has one of these words")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(child(args.child[0], int(args.child[1]), args.redis))
    elif args.instructions:
        instructions(args.requests, args.redis, args.only)
    else:
        asyncio.run(main(args.requests, args.repeats, args.redis))
