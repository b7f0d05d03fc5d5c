"""One worker against two: ``plait run --workers N`` on the JSON and the database endpoints.

Starts ``plait run bench/apps/plait_app.py:app --workers N`` (granian, RSGI) for N = 1 and 2,
loads ``/json`` and ``/db`` (one random row from PostgreSQL, in a database of its own made for
the run and dropped after) with wrk, ``--repeats`` times each, and prints the median
requests per second and the ratio 2 workers / 1 worker.

    python bench/workers_scaling.py --duration 10 --repeats 3

wrk runs on the same machine, so on 2 cores it takes CPU the second worker would use: the
ratio measured here is a floor, not what two cores of their own would give.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def psql(dsn: str, *statements: str) -> None:
    import asyncio

    import asyncpg  # type: ignore[import-untyped]

    async def run() -> None:
        connection = await asyncpg.connect(dsn)
        try:
            for statement in statements:
                await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run())


def serve(workers: int, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", "plait", "run", "plait_app.py:app", "--port", str(port)]
    command += ["--workers", str(workers)]
    process = subprocess.Popen(
        command,
        cwd=HERE / "apps",
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(url + "/db", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    raise SystemExit(f"plait run --workers {workers} did not start")


def wrk(url: str, seconds: int, connections: int) -> float:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if match is None or "Non-2xx" in output or "Socket errors" in output:
        raise SystemExit(output)
    return float(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    name = f"plait_bench_workers_{uuid.uuid4().hex[:8]}"
    psql(ADMIN_DSN, f'CREATE DATABASE "{name}"')
    dsn = ADMIN_DSN.rsplit("/", 1)[0] + "/" + name
    try:
        psql(
            dsn,
            "CREATE TABLE world (id INTEGER PRIMARY KEY, randomnumber INTEGER NOT NULL)",
            "INSERT INTO world SELECT i, (random() * 9999 + 1)::int FROM generate_series(1, 10000) i",
            "CREATE TABLE fortune (id INTEGER PRIMARY KEY, message TEXT NOT NULL)",
        )
        env = {**os.environ, "BENCH_DB": "postgres", "BENCH_PG_DSN": dsn}
        results: dict[tuple[int, str], list[float]] = {}
        for _ in range(args.repeats):
            for workers in (1, 2):
                process, url = serve(workers, env)
                try:
                    for endpoint in ("json", "db"):
                        wrk(f"{url}/{endpoint}", 2, args.connections)  # warm-up
                        rate = wrk(f"{url}/{endpoint}", args.duration, args.connections)
                        results.setdefault((workers, endpoint), []).append(rate)
                finally:
                    os.killpg(process.pid, signal.SIGTERM)
                    process.wait(timeout=20)
    finally:
        psql(ADMIN_DSN, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"{'endpoint':<8} {'1 worker':>10} {'2 workers':>10} {'ratio':>6}   (req/s, median)")
    for endpoint in ("json", "db"):
        one = statistics.median(results[(1, endpoint)])
        two = statistics.median(results[(2, endpoint)])
        print(f"{endpoint:<8} {one:>10.0f} {two:>10.0f} {two / one:>6.2f}")


if __name__ == "__main__":
    main()
