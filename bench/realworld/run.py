#!/usr/bin/env python3
"""RealWorld on PostgreSQL: plait's examples/conduit against FastAPI + SQLAlchemy 2 (async)
and Django (async views), on the same server and database.

    python bench/realworld/run.py                       # 3 repeats x 10 s per endpoint
    python bench/realworld/run.py --repeats 1 --duration 3 --frameworks plait,fastapi

Each framework gets a database of its own on the PostgreSQL server (``--pg-dsn``, default
``postgresql://postgres@127.0.0.1:5432/test``), made empty for the run, and one uvicorn worker
(uvloop, httptools) pinned to CPU 1; wrk (one thread, ``--connections``) runs on CPU 0.
The runner seeds each app through its own API: two users (``POST /api/users``: ``alice``
writes, ``bob`` reads) and 20 articles by alice with three tags each (``POST /api/articles``),
then checks that ``GET /api/articles`` shows the 20 with their author and sorted tags, without
bodies. Then, endpoint by endpoint, frameworks in an order rotated at each repeat:

- ``list``: ``GET /api/articles`` as an anonymous reader (20 articles, authors, tags, counts);
- ``list-auth``: the same with bob's ``Authorization: Token`` (his favourite/follow flags);
- ``create``: ``POST /api/articles`` by bob (its slug taken after the first: a suffixed one);
- ``user``: ``GET /api/user`` by bob (the logged-in user, with a new token).

``--db-prefix`` names the databases (``<prefix>_<framework>``); ``--plait-src`` serves plait
from another checkout's ``src`` (a before/after comparison in one run of the peers).

It prints medians of requests/s and the ratios of plait to each peer, and writes
``bench/results/realworld.json``. Run it on a quiet machine; the numbers say how loaded it was.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import platform
import secrets
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))

from plaitbench.wrk import run_wrk  # noqa: E402

FRAMEWORKS = {
    "plait": (ROOT / "examples" / "conduit", "app:app"),
    "fastapi": (HERE, "fastapi_app:app"),
    "django": (HERE, "django_app:application"),
}
ENDPOINTS = ("list", "list-auth", "create", "user")
ARTICLE = {"title": "How to train your dragon", "description": "Ever wonder how?"}
ARTICLE |= {"body": "You have to believe", "tagList": ["dragons", "training", "angular"]}


def database_url(dsn: str, name: str) -> str:
    return dsn.rpartition("/")[0] + "/" + name


def reset_database(dsn: str, name: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    async def run() -> None:
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(run())


SECRET = secrets.token_urlsafe(48)


def environment(framework: str, url: str, plait_src: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    asyncpg_url = url.replace("postgresql://", "postgresql+asyncpg://", 1)
    env.update(
        PLAIT_DATABASE_URL=asyncpg_url,
        PLAIT_SECRET_KEY=SECRET,
        RW_DATABASE_URL=asyncpg_url,
        RW_PG_DSN=url,
        RW_SECRET_KEY=SECRET,
        PYTHONPATH=str(HERE),
    )
    if plait_src is not None and framework == "plait":
        env["PYTHONPATH"] = f"{plait_src}{os.pathsep}{HERE}"
    return env


Call = Callable[..., Any]
"""``call(method, path, body=None, token=None)``: the JSON answer, or RuntimeError for an error."""


def caller(port: int) -> Call:
    """A :data:`Call` over HTTP to the server on ``port``."""

    def call(method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Token {token}"
        try:
            content = json.dumps(body) if body is not None else None
            connection.request(method, path, content, headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        if response.status >= 400:
            raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")
        return json.loads(data) if data else None

    return call


class App:
    """One framework's server: started in its own process group, stopped by its PID."""

    def __init__(
        self, framework: str, port: int, url: str, cpu: str, plait_src: Path | None = None
    ) -> None:
        self.framework, self.port = framework, port
        directory, target = FRAMEWORKS[framework]
        self.env = environment(framework, url, plait_src)
        self.command = [
            "taskset", "-c", cpu, sys.executable, "-m", "uvicorn", target,
            "--app-dir", str(directory), "--port", str(port), "--loop", "uvloop",
            "--http", "httptools", "--log-level", "warning", "--no-access-log",
        ]  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self.framework == "django":
            subprocess.run(
                [sys.executable, str(HERE / "django_app.py"), "create-tables"],
                env=self.env, check=True, cwd=HERE,
            )  # fmt: skip
        log = (ROOT / "bench" / "results" / "raw" / f"realworld-{self.framework}.log").open("wb")
        self.process = subprocess.Popen(
            self.command, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        began = time.monotonic()
        while time.monotonic() - began < 60:
            try:
                caller(self.port)("GET", "/api/articles")
                return
            except (OSError, RuntimeError):
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.framework} exited: see {log.name}") from None
                time.sleep(0.1)
        raise RuntimeError(f"{self.framework} did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def cpu_seconds(self) -> float:
        assert self.process is not None
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def seed(call: Call) -> dict[str, str]:
    """Two users and 20 articles by alice, through the app's own API; their tokens."""
    tokens = {}
    for name in ("alice", "bob"):
        user = {"username": name, "email": f"{name}@example.com", "password": "correct horse 1"}
        tokens[name] = call("POST", "/api/users", {"user": user})["user"]["token"]
    for n in range(20):
        article = {**ARTICLE, "title": f"{ARTICLE['title']} {n}"}
        call("POST", "/api/articles", {"article": article}, tokens["alice"])
    return tokens


def check(call: Call, token: str) -> None:
    """The answers the bench relies on (``token``: bob's)."""
    for reader in (None, token):
        page = call("GET", "/api/articles", token=reader)
        assert page["articlesCount"] == 20, page
        assert len(page["articles"]) == 20
        for article in page["articles"]:
            assert article["author"]["username"] == "alice", article
            assert article["tagList"] == ["angular", "dragons", "training"], article
            assert "body" not in article
            assert article["favorited"] is False
            assert article["author"]["following"] is False
    me = call("GET", "/api/user", token=token)["user"]
    assert (me["username"], me["email"], bool(me["token"])) == ("bob", "bob@example.com", True)
    made = call("POST", "/api/articles", {"article": ARTICLE}, token)["article"]
    assert made["author"]["username"] == "bob"
    assert made["tagList"] == ["angular", "dragons", "training"]


def scripts(token: str) -> dict[str, tuple[str, str | None]]:
    auth = f'wrk.headers["Authorization"] = "Token {token}"\n'
    body = json.dumps(json.dumps({"article": ARTICLE}))
    create = f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n{auth}'
    return {
        "list": ("/api/articles", None),
        "list-auth": ("/api/articles", auth),
        "create": ("/api/articles", create + f"wrk.body = {body}\n"),
        "user": ("/api/user", auth),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frameworks", default="plait,fastapi,django")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)  # below every app's pool size
    parser.add_argument("--pg-dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--db-prefix", default="realworld")
    parser.add_argument("--plait-src", type=Path, default=None)
    parser.add_argument(
        "--output", type=Path, default=ROOT / "bench" / "results" / "realworld.json"
    )
    args = parser.parse_args(argv)
    frameworks = args.frameworks.split(",")
    (ROOT / "bench" / "results" / "raw").mkdir(parents=True, exist_ok=True)
    apps: dict[str, App] = {}
    tokens: dict[str, str] = {}
    runs: dict[str, dict[str, list[dict[str, float]]]] = {f: {} for f in frameworks}
    try:
        for port, framework in enumerate(frameworks, start=18_601):
            name = f"{args.db_prefix}_{framework}"
            reset_database(args.pg_dsn, name)
            url = database_url(args.pg_dsn, name)
            apps[framework] = App(framework, port, url, "1", args.plait_src)
            apps[framework].start()
            tokens[framework] = seed(caller(port))["bob"]
            check(caller(port), tokens[framework])
            print(f"{framework}: seeded and checked", flush=True)
        for repeat in range(args.repeats):
            order = frameworks[repeat % len(frameworks) :] + frameworks[: repeat % len(frameworks)]
            for endpoint in ENDPOINTS:
                for framework in order:
                    app = apps[framework]
                    path, script = scripts(tokens[framework])[endpoint]
                    run_wrk(app.port, path, duration=args.warmup, connections=args.connections,
                            cpu="0", script=script)  # fmt: skip
                    before = app.cpu_seconds()
                    result = run_wrk(app.port, path, duration=args.duration,
                                     connections=args.connections, cpu="0", script=script)  # fmt: skip
                    cpu = (app.cpu_seconds() - before) / args.duration
                    errors = result.non2xx + result.socket_errors
                    runs[framework].setdefault(endpoint, []).append(
                        {"rps": result.rps, "p99_ms": result.p99_ms or 0.0, "cpu": cpu,
                         "errors": errors}
                    )  # fmt: skip
                    print(f"  {repeat + 1} {endpoint:9} {framework:8} {result.rps:8.0f} req/s "
                          f"(server CPU {cpu:.0%}, {errors} errors)", flush=True)  # fmt: skip
                    save(args.output, args, runs)
    finally:
        for app in apps.values():
            app.stop()
    print(markdown(save(args.output, args, runs)))
    return 0


def save(output: Path, args: argparse.Namespace, runs: dict[str, Any]) -> dict[str, Any]:
    """Write the results so far (a run cut short keeps what it measured)."""
    results = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg": os.getloadavg(),
        },
        "settings": {k: v for k, v in vars(args).items() if k != "output"},
        "runs": runs,
    }
    output.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return results


def markdown(results: dict[str, Any]) -> str:
    """Medians of requests/s and of requests per second of server CPU (steadier when other
    work shares the machine), and plait's ratio to each peer on both."""
    runs = results["runs"]
    frameworks = [f for f in runs if runs[f]]
    peers = [f for f in frameworks if f != "plait"]
    head = ["endpoint", *(f"{f} req/s (per CPU-s)" for f in frameworks)]
    head += [f"plait / {p} (per CPU-s)" for p in peers]
    lines = ["| " + " | ".join(head) + " |", "| --- " * len(head) + "|"]
    for endpoint in ENDPOINTS:
        rps, per_cpu = {}, {}
        for f in frameworks:
            measured = runs[f].get(endpoint, [])
            if not measured:
                continue
            rps[f] = statistics.median(r["rps"] for r in measured)
            per_cpu[f] = statistics.median(r["rps"] / max(r["cpu"], 0.01) for r in measured)
        cells = [f"{rps[f]:,.0f} ({per_cpu[f]:,.0f})" if f in rps else "" for f in frameworks]
        for p in peers:
            if "plait" in rps and p in rps:
                cells.append(f"{rps['plait'] / rps[p]:.2f}x ({per_cpu['plait'] / per_cpu[p]:.2f}x)")
            else:
                cells.append("")
        lines.append(f"| {endpoint} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
