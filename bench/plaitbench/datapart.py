"""The data part of the bench: the ORM apps and the raw ceiling, on SQLite and on PostgreSQL.

The rows are the bare app (raw SQL through ``benchdb.AsyncDB``: asyncpg or aiosqlite) and the
ORM apps (plait.db, FastAPI + SQLAlchemy 2, FastAPI + SQLModel, Litestar + Advanced Alchemy,
Django's async ORM), on the ASGI servers; the endpoints are the database ones
(``wrk.DATA_ENDPOINTS``). Each database is its own matrix, measured the way the HTTP part is
(``measure.run_repeat``), into ``results["data"][database]``.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path
from typing import Any

from plaitbench.measure import run_repeat
from plaitbench.progress import say
from plaitbench.servers import Target
from plaitbench.wrk import DATA_ENDPOINTS

__all__ = ["DATABASES", "prepare", "run_data"]

DATABASES = ("sqlite", "postgres")


def prepare(database: str, args: argparse.Namespace, sqlite: Path) -> dict[str, str] | None:
    """Seed ``database`` and return the environment that points the apps at it (None, with a
    message, when PostgreSQL can't be reached: the rest of the run goes on)."""
    import benchdb

    if database == "postgres":
        try:
            benchdb.create_postgres(args.pg_dsn)
        except Exception as exc:  # refused, no such database, bad credentials…
            say(f"data part: PostgreSQL at {args.pg_dsn} is not usable, skipped: {exc}")
            return None
        return {"BENCH_DB": "postgres", "BENCH_PG_DSN": args.pg_dsn}
    benchdb.create_sqlite(sqlite)  # afresh: the creates of a previous run grew ``world``
    return {"BENCH_DB": "sqlite", "BENCH_SQLITE": str(sqlite)}


def run_data(
    repeat: int, targets: list[Target], args: argparse.Namespace, envs: dict[str, dict[str, str]],
    results: dict[str, Any], *, apps: Path, logs: Path,
) -> None:  # fmt: skip
    """One repeat of every database's matrix (``envs``: database -> environment)."""
    data_args = copy.copy(args)
    data_args.endpoints = [name for name in args.endpoints if name in DATA_ENDPOINTS]
    data_args.leak = 0  # the HTTP part's leak check covers the servers; these rows write
    for database, env in envs.items():
        say(f"data part: {database}")
        found = results.setdefault("data", {}).setdefault(database, {"rows": []})
        run_repeat(repeat, targets, data_args, env, found, apps=apps, logs=logs / database)
