"""The database pool under modest concurrency and when exhausted (issue 12, finding 15).

Serves a small app with ``plait run`` (granian, one worker) on PostgreSQL, once with plait's
pool defaults and once with SQLAlchemy's (``pool_size=5, max_overflow=10, pool_timeout=30``,
plait's defaults before the fix), and reports:

- new PostgreSQL connections per second while 10 and 15 clients send requests that each use
  the database (PostgreSQL's own count of sessions, ``pg_stat_database.sessions``);
- what a request gets when every pooled connection is held: how long it waits, and the answer.

    python bench/pool_faults.py                # both pool settings
    python bench/pool_faults.py --seconds 5

Needs PostgreSQL on 127.0.0.1:5432 (``BENCH_PG``, as bench/tasks) and wrk. The machine may be
loaded: the connection counts do not depend on it, the timings do a little.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "tasks"))
from _common import PG, pg  # the benchmark's PostgreSQL  # noqa: E402

__all__ = ["main"]

APP = textwrap.dedent(
    """
    import asyncio, os

    from sqlalchemy import text

    from plait import App
    from plait.db import Database, Session

    app = App(openapi_url=None)
    old = {"pool_size": 5, "max_overflow": 10, "pool_timeout": 30}
    Database(app, os.environ["BENCH_DB"], engine_options=old if os.environ["BENCH_OLD"] == "1" else {})


    @app.get("/q")
    async def query(session: Session) -> int:
        return int(await session.scalar(text("SELECT 1 FROM pg_sleep(0.002)")) or 0)


    @app.get("/hold")
    async def hold(session: Session, seconds: float = 10) -> int:
        await session.scalar(text("SELECT 1"))
        await asyncio.sleep(seconds)
        return 1
    """
)


async def sessions(database: str) -> int:
    import asyncpg

    connection = await asyncpg.connect(PG)
    try:
        query = "SELECT sessions FROM pg_stat_database WHERE datname = $1"
        return int(await connection.fetchval(query, database))
    finally:
        await connection.close()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve(workdir: Path, database: str, old: bool) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    url = PG.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0] + "/" + database
    env = {**os.environ, "BENCH_DB": url, "BENCH_OLD": "1" if old else "0"}
    command = [sys.executable, "-m", "plait", "run", "pool_app:app", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--no-access-log", "--app-dir", str(workdir)],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/q", timeout=2).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the app did not come up")


def wrk(url: str, clients: int, seconds: int) -> float:
    command = ["wrk", "-t", "2", "-c", str(clients), "-d", f"{seconds}s", url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    return float(match.group(1)) if match else float("nan")


def new_connections(base: str, database: str, clients: int, seconds: int) -> None:
    """New connections per second and per 1,000 requests, after a warm-up (the pool filled)."""
    wrk(base + "/q", clients, 2)
    before = asyncio.run(sessions(database))
    rate = wrk(base + "/q", clients, seconds)
    opened = asyncio.run(sessions(database)) - before
    print(
        f"    {clients} clients: {rate:.0f} req/s, {opened / seconds:.1f} new PostgreSQL "
        f"connections/s ({1000 * opened / (rate * seconds):.0f} per 1,000 requests)"
    )


async def exhausted(base: str, held: int) -> tuple[float, int, str]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        holders = [
            asyncio.create_task(client.get("/hold", params={"seconds": 40})) for _ in range(held)
        ]
        await asyncio.sleep(1.0)  # every connection taken
        start = time.perf_counter()
        response = await client.get("/q")
        waited = time.perf_counter() - start
        for holder in holders:
            holder.cancel()
        detail = response.json().get("detail", "") if response.status_code != 200 else ""
        return waited, response.status_code, detail


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    database = f"plaitbench_pool_{uuid.uuid4().hex[:8]}"
    asyncio.run(pg(f'CREATE DATABASE "{database}"'))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            (workdir / "pool_app.py").write_text(APP)
            for old, name, held in (
                (True, "SQLAlchemy's (5 + 10 overflow, 30 s)", 15),
                (False, "plait's (20, no overflow, 5 s)", 20),
            ):
                process, base = serve(workdir, database, old)
                try:
                    print(f"pool defaults {name}:")
                    for clients in (10, 15):
                        new_connections(base, database, clients, args.seconds)
                    waited, status, detail = asyncio.run(exhausted(base, held))
                    print(f"    pool exhausted: answered {status} after {waited:.2f} s: {detail!r}")
                finally:
                    process.terminate()
                    process.wait(15)
    finally:
        asyncio.run(pg(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
