"""taskiq against Celery on this machine's RabbitMQ and Redis (the choice in docs/decisions.md).

For each engine and broker: enqueue N tasks from an asyncio program as fast as it can,
timing each enqueue call (no worker running yet); then start ONE worker process and time it
from its first completed task to its last (completions are counted in Redis). Three
workloads: ``noop`` (engine overhead), ``io`` (each task awaits 10 ms, like an HTTP call
or an e-mail) and ``db`` (each task inserts a row into PostgreSQL with asyncpg, as a plait
task with a ``Session`` would: taskiq's worker keeps a pool on its one event loop, Celery's
``asyncio.run`` per task needs a new connection each time). taskiq's worker runs up to 100 tasks at once on its event loop; Celery's runs
a pool of 100 threads (its best single-process setting for I/O), each task body a coroutine
run with ``asyncio.run`` as plait's async tasks would be; both ack after the task ran.

    python bench/tasks/engines.py            # all rows, N=2000 (noop) / 1000 (io)
    python bench/tasks/engines.py --n 500    # quicker

Needs RabbitMQ at 127.0.0.1:5672 (guest/guest), Redis at 127.0.0.1:6379 and PostgreSQL at
127.0.0.1:5432 (database ``test``, or ``BENCH_PG``); every run uses
queue names of its own and deletes them at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import redis
from _common import PG, delete_amqp, pg, wait_done

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


def worker_command(engine: str) -> list[str]:
    engine = engine.split("-")[0]
    if engine == "taskiq":
        return [
            str(BIN / "taskiq"),
            "worker",
            "engine_taskiq:broker",
            "--workers",
            "1",
            "--max-async-tasks",
            "100",
            "--log-level",
            "WARNING",
        ]
    return [
        str(BIN / "celery"),
        "-A",
        "engine_celery",
        "worker",
        "--pool",
        "threads",
        "--concurrency",
        "100",
        "--loglevel",
        "WARNING",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]


async def enqueue_all(engine: str, task_name: str, n: int) -> list[float]:
    engine = engine.split("-")[0]
    module = importlib.import_module(f"engine_{engine}")
    task = getattr(module, task_name)
    latencies = []
    if engine == "taskiq":
        await module.broker.startup()
        for _ in range(n):
            start = time.perf_counter()
            await task.kiq()
            latencies.append(time.perf_counter() - start)
        await module.broker.shutdown()
    else:
        for _ in range(n):
            start = time.perf_counter()
            task.delay()  # blocks the event loop: Celery's client is synchronous
            latencies.append(time.perf_counter() - start)
    return latencies


def run_row(engine: str, broker: str, task_name: str, n: int) -> dict[str, float]:
    prefix = f"plaitbench-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "BENCH_BROKER": broker,
        "BENCH_PREFIX": prefix,
        "PYTHONPATH": str(HERE),
        "BENCH_PG": PG,
    }
    asyncio.run(pg(f'CREATE TABLE "{prefix}" (n int)'))
    os.environ.update(BENCH_BROKER=broker, BENCH_PREFIX=prefix)
    client = redis.Redis(host="127.0.0.1")
    os.environ["BENCH_CONFIRM"] = env["BENCH_CONFIRM"] = "1" if engine.endswith("-confirm") else "0"
    sys.modules.pop("engine_" + engine.split("-")[0], None)
    worker = None
    try:
        start = time.perf_counter()
        latencies = asyncio.run(enqueue_all(engine, task_name, n))
        enqueued = time.perf_counter() - start
        worker = subprocess.Popen(
            worker_command(engine),
            cwd=HERE,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
        )
        what = f"{engine}/{broker}/{task_name}"
        first_count, elapsed = wait_done(client, prefix + ":done", n, 180, what)
    finally:
        if worker is not None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
        if broker == "amqp":
            asyncio.run(delete_amqp("amqp://guest:guest@127.0.0.1:5672/", prefix))
        asyncio.run(pg(f'DROP TABLE "{prefix}"'))
    latencies.sort()
    return {
        "enqueue_per_s": n / enqueued,
        "enqueue_p50_us": statistics.median(latencies) * 1e6,
        "enqueue_p99_us": latencies[int(len(latencies) * 0.99)] * 1e6,
        "tasks_per_s": (n - first_count) / elapsed if elapsed > 0 else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--engines", default="taskiq,celery,celery-confirm")
    parser.add_argument("--brokers", default="amqp,redis")
    parser.add_argument("--workloads", default="noop,io,db")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    print(
        "| engine | broker | workload | tasks/s (1 worker) | enqueue/s | enqueue p50 µs | p99 µs |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for workload in args.workloads.split(","):
        for broker in args.brokers.split(","):
            for engine in args.engines.split(","):
                n = args.n if workload == "noop" else args.n // 2
                if engine.endswith("-confirm") and broker != "amqp":
                    continue
                row = run_row(engine, broker, workload, n)
                print(
                    f"| {engine} | {broker} | {workload} | {row['tasks_per_s']:.0f} | "
                    f"{row['enqueue_per_s']:.0f} | {row['enqueue_p50_us']:.0f} | "
                    f"{row['enqueue_p99_us']:.0f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
