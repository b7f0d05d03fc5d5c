"""plait.tasks measured: enqueue from a handler, and tasks per second through one worker.

For each backend (embedded in SQLite, embedded in PostgreSQL, RabbitMQ, Redis):

1. ``plait run`` serves bench/tasks/handler_app.py (granian, one process) and wrk loads
   ``GET /plain`` (returns a small JSON) and ``GET /enqueue`` (the same, after
   ``await noop.enqueue(1)``): requests per second and latency, with and without the enqueue.
   With a broker no worker runs meanwhile (the enqueue alone is measured); embedded, the
   app's own runner executes the tasks too, as it does in production.
2. N tasks are enqueued, then one worker (``plait worker``; embedded: the app's process)
   drains them; tasks per second from the first task done to the last (each task
   increments a Redis counter).

    python bench/tasks/plait_tasks.py              # all backends, 5 s per wrk run, N=2000
    python bench/tasks/plait_tasks.py --backends redis --duration 3 --n 500

Needs wrk, RabbitMQ, Redis and PostgreSQL on 127.0.0.1 (each run uses queue names and a
database of its own, removed at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import redis
from _common import PG, delete_amqp, pg, wait_done

HERE = Path(__file__).resolve().parent
BACKENDS = {
    "embedded-sqlite": None,
    "embedded-postgres": None,
    "rabbitmq": "amqp://guest:guest@127.0.0.1:5672/",
    "redis": "redis://127.0.0.1:6379/0",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def plait(*args: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "plait", *args],
            env=env,
            cwd=HERE,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def wait_http(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start ({url})") from None
            time.sleep(0.1)


def wrk(url: str, duration: int) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p99 ms) of wrk -t1 -c32 on ``url``."""
    out = subprocess.run(
        ["wrk", "-t1", "-c32", f"-d{int(duration)}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def ms(label: str) -> float:
        match = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out)
        assert match, out
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return rps, ms("50"), ms("99")


def run_backend(name: str, duration: int, n: int, workdir: Path) -> dict[str, float]:
    prefix = f"plaitbench-{uuid.uuid4().hex[:8]}"
    url = BACKENDS[name]
    database = f"sqlite+aiosqlite:///{workdir / (prefix + '.sqlite3')}"
    if name != "embedded-sqlite":
        asyncio.run(pg(f'CREATE DATABASE "{prefix}"'))
        database = PG.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0]
        database += f"/{prefix}"
    env = {**os.environ, "BENCH_DB": database, "BENCH_PREFIX": prefix, "PYTHONPATH": str(HERE)}
    env["BENCH_TASKS_URL"] = url or ""
    client = redis.Redis(host="127.0.0.1")
    port = free_port()
    log = workdir / f"{prefix}.log"
    row: dict[str, float] = {}
    server = plait("run", "handler_app:app", "--port", str(port), env=env, log=log)
    try:
        wait_http(f"http://127.0.0.1:{port}/plain", server)
        wrk(f"http://127.0.0.1:{port}/plain", 1)  # warm-up
        row["plain"], row["plain_p50"], row["plain_p99"] = wrk(
            f"http://127.0.0.1:{port}/plain", duration
        )
        row["enqueue"], row["enqueue_p50"], row["enqueue_p99"] = wrk(
            f"http://127.0.0.1:{port}/enqueue", duration
        )
        stop(server)
        # Drain: N more tasks enqueued (no worker running), then one worker.
        client.delete(prefix + ":done")
        filler = plait("run", "handler_app:app", "--port", str(port), env=env, log=log)
        wait_http(f"http://127.0.0.1:{port}/plain", filler)
        stop(filler)  # started only to migrate/declare the queue
        subprocess.run([sys.executable, "-c", FILL, str(n)], env=env, cwd=HERE, check=True)
        if url is None:
            worker = plait("run", "handler_app:app", "--port", str(port), env=env, log=log)
        else:
            worker = plait("worker", "handler_app:app", "--concurrency", "100", env=env, log=log)
        try:
            first_count, elapsed = wait_done(client, prefix + ":done", n, 300, name)
            row["tasks_per_s"] = (n - first_count) / elapsed if elapsed else float("nan")
        finally:
            stop(worker)
    finally:
        stop(server)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
        if url is not None and url.startswith("amqp"):
            asyncio.run(delete_amqp(url, prefix))
        if url is not None and url.startswith("redis"):
            client.delete(prefix)
        if name != "embedded-sqlite":
            asyncio.run(pg(f'DROP DATABASE IF EXISTS "{prefix}" WITH (FORCE)'))
    return row


# Enqueue N tasks with the app's Tasks but without serving it (no runner, no worker).
FILL = """
import asyncio, sys
from handler_app import app, noop, tasks

async def main():
    await tasks.backend.start() if not tasks.embedded else None
    for _ in range(int(sys.argv[1])):
        await noop.enqueue(1)
    if not tasks.embedded:
        await tasks.backend.stop()
    await tasks.database.disconnect()

asyncio.run(main())
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    print(
        "| backend | GET /plain req/s | GET /enqueue req/s | ratio | p50 ms (plain / enqueue) "
        "| p99 ms (plain / enqueue) | tasks/s, one worker |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.backends.split(","):
            row = run_backend(name, args.duration, args.n, Path(tmp))
            print(
                f"| {name} | {row['plain']:.0f} | {row['enqueue']:.0f} | "
                f"{row['enqueue'] / row['plain']:.2f} | {row['plain_p50']:.1f} / "
                f"{row['enqueue_p50']:.1f} | {row['plain_p99']:.1f} / {row['enqueue_p99']:.1f} "
                f"| {row['tasks_per_s']:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
