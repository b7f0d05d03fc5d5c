#!/usr/bin/env python3
"""Run plait's benchmark suite against its peers: one command, from a fresh clone.

    python bench/run.py                 # the whole matrix (about 2 hours)
    python bench/run.py --quick         # short runs, to see that everything works
    python bench/run.py --frameworks bare,plait,starlette --servers uvicorn --endpoints json,db
    python bench/run.py --parts data --data-dbs postgres --servers uvicorn   # the ORMs

First, with any Python 3.11+, it makes ``bench/.venv``, installs ``bench/requirements.txt``
there (the peers, the servers and plait itself, editable), installs wrk with apt-get if it is
missing, and runs itself again with the venv's Python. Then, for each repeat: start every
framework x server pinned to one CPU, timing each to its first 200 and reading its worker's
idle RSS; run the leak check (first repeat only); then for each endpoint, on each server in
turn, a warm-up and a measured wrk run pinned to the other CPU (plaitbench/measure.py).
The data part does the same for the ORM apps and the raw SQL ceiling on the database
endpoints, on SQLite and on PostgreSQL (plaitbench/datapart.py); the real-time part runs the
WebSocket and SSE scenarios (plaitbench/realtime.py).
Every server is stopped by its process group, also on Ctrl-C and errors.
Writes ``bench/results/latest.json``, the tables in ``docs/benchmarks.md`` and its charts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
APPS = BENCH / "apps"
VENV = BENCH / ".venv"
REQUIREMENTS = BENCH / "requirements.txt"
RESULTS = BENCH / "results"
DOCS = ROOT / "docs"
SQLITE = BENCH / "bench.sqlite3"
DEFAULT_PG_DSN = "postgresql://postgres@127.0.0.1:5432/plait_bench"  # created on first use
VERSIONED = (
    "plait", "fastapi", "litestar", "blacksheep", "starlette", "flask", "django", "uvicorn",
    "granian", "gunicorn", "uvloop", "httptools", "msgspec", "pydantic", "jinja2", "aiosqlite",
    "asyncpg", "psycopg", "psycopg-pool", "sqlalchemy", "sqlmodel", "advanced-alchemy",
)  # fmt: skip


def parse_args(argv: list[str]) -> argparse.Namespace:
    # Imported late: the bootstrap stage must run before the venv (and its packages) exist.
    sys.path.insert(0, str(BENCH))
    from plaitbench import realtime
    from plaitbench.datapart import DATABASES
    from plaitbench.servers import FRAMEWORKS, SERVERS
    from plaitbench.wrk import ENDPOINTS

    def names(allowed: tuple[str, ...] | list[str]) -> Any:
        def parse(value: str) -> list[str]:
            chosen = [name.strip() for name in value.split(",") if name.strip()]
            unknown = sorted(set(chosen) - set(allowed))
            if unknown:
                raise argparse.ArgumentTypeError(
                    f"unknown: {', '.join(unknown)} (choose from {', '.join(allowed)})"
                )
            return [name for name in allowed if name in chosen]

        return parse

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="3 s runs, 1 s warm-up, 1 repeat, 20k-request leak check",
    )
    parser.add_argument(
        "--duration", type=int, help="seconds per measured run (default 10; quick 3)"
    )
    parser.add_argument(
        "--warmup", type=int, help="seconds of warm-up per endpoint (default 3; quick 1)"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        help="runs per endpoint, servers restarted between (default 3; quick 1)",
    )
    parser.add_argument(
        "--leak",
        type=int,
        help="requests for the leak check, RSS read at a tenth and at the end (default 100000; quick 20000; 0 skips)",
    )
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (default 64)")
    parser.add_argument(
        "--frameworks",
        type=names((*FRAMEWORKS, *realtime.RT_ONLY)),
        default=[*FRAMEWORKS, *realtime.RT_ONLY],
        help=f"comma-separated, from {','.join((*FRAMEWORKS, *realtime.RT_ONLY))}",
    )
    parser.add_argument(
        "--servers",
        type=names(SERVERS),
        default=list(SERVERS),
        help=f"comma-separated, from {','.join(SERVERS)}",
    )
    parser.add_argument(
        "--endpoints",
        type=names(list(ENDPOINTS)),
        default=list(ENDPOINTS),
        help=f"comma-separated, from {','.join(ENDPOINTS)}",
    )
    parser.add_argument(
        "--parts",
        type=names(["http", "data", "realtime"]),
        default=["http", "data", "realtime"],
        help="comma-separated, from http,data,realtime (default all three)",
    )
    parser.add_argument(
        "--data-dbs",
        type=names(list(DATABASES)),
        default=list(DATABASES),
        help="the data part's databases, from sqlite,postgres (default both; PostgreSQL at"
        " --pg-dsn, skipped with a message when it can't be reached)",
    )
    parser.add_argument(
        "--rt-servers",
        type=names(list(realtime.RT_SERVERS)),
        default=list(realtime.RT_SERVERS),
        help=f"real-time servers, from {','.join(realtime.RT_SERVERS)}",
    )
    realtime.add_arguments(parser)
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="the HTTP part's database endpoints on PostgreSQL (asyncpg / psycopg) instead of"
        " SQLite",
    )
    parser.add_argument(
        "--pg-dsn", default=DEFAULT_PG_DSN, help=f"with --postgres (default {DEFAULT_PG_DSN})"
    )
    parser.add_argument("--server-cpu", default="1", help="CPU the server is pinned to (default 1)")
    parser.add_argument("--load-cpu", default="0", help="CPU wrk is pinned to (default 0)")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the results file's other rows (latest.json, or --output), replacing only "
        "the rows run now",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="write the results there instead of results/latest.json (implies --no-docs): "
        "a re-check that leaves the committed tables alone",
    )
    parser.add_argument(
        "--no-docs",
        action="store_true",
        help="write results/latest.json only, not docs/benchmarks.{md,png}",
    )
    parser.add_argument(
        "--report", action="store_true", help="only redraw docs/ from results/latest.json"
    )
    args = parser.parse_args(argv)
    if args.output is not None:
        args.no_docs = True
    args.output = args.output or RESULTS / "latest.json"
    quick = args.quick
    args.duration = args.duration or (3 if quick else 10)
    args.warmup = args.warmup if args.warmup is not None else (1 if quick else 3)
    args.repeats = args.repeats or (1 if quick else 3)
    args.leak = args.leak if args.leak is not None else (20_000 if quick else 100_000)
    realtime.finish_arguments(args)
    if (os.cpu_count() or 1) < 2:
        print("fewer than 2 CPUs: not pinning server and wrk apart", file=sys.stderr)
        args.server_cpu = args.load_cpu = None
    return args


# --- stage 1: the virtualenv and wrk (standard library only) -------------------------------


def _in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def _requirements_digest() -> str:
    return hashlib.sha256(
        REQUIREMENTS.read_bytes() + (ROOT / "pyproject.toml").read_bytes()
    ).hexdigest()


def _pip(python: Path, *args: str) -> bool:
    command = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", *args]
    return subprocess.run(command, cwd=BENCH, check=False).returncode == 0


def ensure_venv() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {VENV.relative_to(ROOT)} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    stamp = VENV / ".requirements.sha256"
    digest = _requirements_digest()
    if stamp.exists() and stamp.read_text() == digest:
        return python
    print(
        f"installing {REQUIREMENTS.relative_to(ROOT)} into the venv (a few minutes the first time) ...",
        flush=True,
    )
    if _pip(python, "-r", REQUIREMENTS.name):
        stamp.write_text(digest)
        return python
    # plait's own packaging may be broken mid-change: install the rest, and put src/ on the
    # path the way an editable install would (without writing the stamp, so it retries).
    print(
        "could not install plait editable; installing the peers and linking src/ instead",
        file=sys.stderr,
    )
    peers = [
        line for line in REQUIREMENTS.read_text().splitlines() if not line.lstrip().startswith("-e")
    ]
    fallback = VENV / "requirements-without-plait.txt"
    fallback.write_text("\n".join(peers) + "\n")
    if not _pip(python, "-r", str(fallback)):
        raise SystemExit("pip could not install bench/requirements.txt")
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    (Path(purelib) / "plait-src.pth").write_text(f"{ROOT / 'src'}\n")
    return python


def ensure_tools() -> None:
    if shutil.which("taskset") is None:
        raise SystemExit("taskset (util-linux) is needed to pin the server and wrk to CPUs")
    if shutil.which("wrk") is not None:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise SystemExit("wrk is needed: install it (Debian/Ubuntu: sudo apt-get install wrk)")
    print("installing wrk with apt-get ...", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "wrk"],
        check=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        stdout=subprocess.DEVNULL,
    )


# --- stage 2: the measurements (inside the venv) -------------------------------------------


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def machine_info() -> dict[str, Any]:
    from plaitbench.wrk import wrk_version

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    return {
        "cpu": cpu,
        "nproc": nproc or str(os.cpu_count()),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "wrk": wrk_version(),
    }


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in VERSIONED:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def prepare_database(args: argparse.Namespace) -> dict[str, str]:
    """The HTTP part's tables, and the environment that points the apps at them."""
    import benchdb

    if args.postgres:
        benchdb.create_postgres(args.pg_dsn)
        return {"BENCH_DB": "postgres", "BENCH_PG_DSN": args.pg_dsn}
    benchdb.create_sqlite(SQLITE)  # afresh: an older file may lack a table
    return {"BENCH_DB": "sqlite", "BENCH_SQLITE": str(SQLITE)}


def save(results: dict[str, Any], output: Path) -> None:
    (RESULTS / "raw").mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=1, ensure_ascii=False) + "\n"
    output.write_text(text)
    (RESULTS / "raw" / f"{results['meta']['started']}.json").write_text(text)


def merged(results: dict[str, Any], output: Path) -> dict[str, Any]:
    """Earlier rows of ``output`` (latest.json) this run did not redo, then this run's."""
    try:
        previous = json.loads(output.read_text())
    except (OSError, ValueError):
        return results

    def rows(new: list[dict[str, Any]], old: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ran = {(row["framework"], row["server"]) for row in new}
        return [row for row in old if (row["framework"], row["server"]) not in ran] + new

    found = {**results, "rows": rows(results["rows"], previous.get("rows", []))}
    for database in {*previous.get("data", {}), *results.get("data", {})}:
        old_data = previous.get("data", {}).get(database, {}).get("rows", [])
        new_data = results.get("data", {}).get(database, {}).get("rows", [])
        found.setdefault("data", {})[database] = {"rows": rows(new_data, old_data)}
    old_rt = previous.get("realtime", {}).get("rows", [])
    if old_rt or "realtime" in results:
        new_rt = results.get("realtime", {}).get("rows", [])
        found["realtime"] = {**previous.get("realtime", {}), **results.get("realtime", {})}
        found["realtime"]["rows"] = rows(new_rt, old_rt)
    return found


def measure(args: argparse.Namespace, argv: list[str]) -> int:
    from plaitbench.datapart import prepare, run_data
    from plaitbench.datareport import write_data_docs
    from plaitbench.measure import run_repeat
    from plaitbench.progress import job
    from plaitbench.realtime import rt_targets, run_realtime
    from plaitbench.report import write_docs
    from plaitbench.rtreport import write_rt_docs
    from plaitbench.servers import data_targets, stop_all, targets
    from plaitbench.wrk import DATA_PATH

    if args.report:
        latest = json.loads((RESULTS / "latest.json").read_text())
        write_docs(latest, DOCS / "benchmarks.md", DOCS / "benchmarks.png")
        # The real-time part may have been run on its own, into results/realtime.json.
        realtime = RESULTS / "realtime.json"
        if realtime.exists() and not latest.get("realtime"):
            latest = json.loads(realtime.read_text())
        write_rt_docs(latest, DOCS / "benchmarks.md", DOCS / "benchmarks-realtime.png")
        # The data part may have been run on its own, into results/datapath.json.
        datapath = RESULTS / "datapath.json"
        if not latest.get("data") and datapath.exists():
            latest = json.loads(datapath.read_text())
        write_data_docs(latest, DOCS / "benchmarks.md", DOCS / "benchmarks-datapath.png")
        return 0
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGHUP, _raise_interrupt)
    env = {**os.environ, "PYTHONPATH": str(APPS), **prepare_database(args)}
    env.pop("PYTHONHOME", None)
    options = {
        key: getattr(args, key)
        for key in (
            "duration",
            "warmup",
            "repeats",
            "leak",
            "connections",
            "postgres",
            "server_cpu",
            "load_cpu",
            "endpoints",
            "parts",
            "data_dbs",
        )
    }
    results: dict[str, Any] = {
        "meta": {
            "command": shlex.join(["python", "bench/run.py", *argv]),
            "date": time.strftime("%Y-%m-%d"),
            "started": time.strftime("%Y%m%d-%H%M%S"),
            "machine": machine_info(),
            "versions": versions(),
            "options": options,
        },
        "rows": [],
    }
    rows = targets(args.frameworks, args.servers) if "http" in args.parts else []
    http_args = argparse.Namespace(**vars(args))
    http_args.endpoints = [name for name in args.endpoints if name not in DATA_PATH]
    data_rows = data_targets(args.frameworks, args.servers) if "data" in args.parts else []
    data_envs = {}
    for database in args.data_dbs if data_rows else []:
        found = prepare(database, args, SQLITE)
        if found is not None:
            data_envs[database] = {**env, **found}
    data_rows = data_rows if data_envs else []
    rt_rows = rt_targets(args.frameworks, args.rt_servers) if "realtime" in args.parts else []
    if not rows and not data_rows and not rt_rows:
        raise SystemExit("no framework runs on the chosen servers")
    logs = RESULTS / "raw" / "logs"
    chosen = (("http", rows), ("data", data_rows), ("real-time", rt_rows))
    parts = [part for part, part_rows in chosen if part_rows]
    try:
        with job("bench", total=args.repeats * len(parts)) as progress:
            for repeat in range(args.repeats):
                if rows:
                    progress.label = f"bench: repeat {repeat + 1}/{args.repeats}, http"
                    run_repeat(repeat, rows, http_args, env, results, apps=APPS, logs=logs)
                    progress.advance()
                if data_rows:
                    progress.label = f"bench: repeat {repeat + 1}/{args.repeats}, data"
                    run_data(repeat, data_rows, args, data_envs, results, apps=APPS, logs=logs)
                    progress.advance()
                if rt_rows:
                    progress.label = f"bench: repeat {repeat + 1}/{args.repeats}, real-time"
                    run_realtime(repeat, rt_rows, args, env, results, apps=APPS, logs=logs)
                    progress.advance()
                save(merged(results, args.output) if args.merge else results, args.output)
    except KeyboardInterrupt:
        print("\ninterrupted: the servers are stopped", file=sys.stderr)
        return 130
    finally:
        stop_all()
    final = merged(results, args.output) if args.merge else results
    save(final, args.output)
    if not args.no_docs:
        if final["rows"]:
            write_docs(final, DOCS / "benchmarks.md", DOCS / "benchmarks.png")
        write_data_docs(final, DOCS / "benchmarks.md", DOCS / "benchmarks-datapath.png")
        write_rt_docs(final, DOCS / "benchmarks.md", DOCS / "benchmarks-realtime.png")
        print(f"wrote {args.output}, docs/benchmarks.md and its charts")
    else:
        print(f"wrote {args.output}")
    return 0


def main() -> int:
    argv = sys.argv[1:]
    args = parse_args(argv)
    if not _in_venv() and not os.environ.get("BENCH_NO_VENV"):
        python = ensure_venv()
        ensure_tools()
        os.execv(python, [str(python), str(Path(__file__).resolve()), *argv])
    ensure_tools()
    sys.path.insert(0, str(APPS))
    return measure(args, argv)


if __name__ == "__main__":
    sys.exit(main())
