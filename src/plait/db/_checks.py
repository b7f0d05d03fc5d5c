"""The data layer's checks (``plait check``): are the migrations applied?

Registered as the ``db`` entry point of the ``plait.checks`` group, so the core never imports
the data layer; a Database with ``auto_migrate=True`` migrates itself at start-up and is
left alone.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plait._settings import Settings
from plait.checks import Check, Finding

if TYPE_CHECKING:
    from plait._app import App
    from plait.db._database import Database

__all__ = ["CHECKS", "CONNECT_TIMEOUT", "pending_migrations"]

CONNECT_TIMEOUT = 5.0
"""Seconds the migrations check waits for the database before reporting ``db.W002``."""


def pending_migrations(db: Database) -> list[str]:
    """The revisions in ``db.migrations`` the database has not applied yet, oldest first
    (all of them for a SQLite file that does not exist yet: nothing is created to find out)."""
    from alembic.script import ScriptDirectory

    from plait.db._migrations import has_migrations, make_config

    if not has_migrations(db.migrations):
        return []
    scripts = ScriptDirectory.from_config(make_config(db))
    every = [script.revision for script in scripts.walk_revisions()]
    every.reverse()
    database = db.url.database or ":memory:"
    on_disk = db.is_sqlite and database != ":memory:" and not database.startswith("file:")
    if on_disk and not Path(database).exists():
        return every
    # A database server that does not answer must not hold `plait run` up for a minute.
    applied = _in_thread(asyncio.wait_for(_current_heads(db), CONNECT_TIMEOUT))
    if not applied:
        return every
    done = {rev.revision for head in applied for rev in scripts.iterate_revisions(head, "base")}
    return [revision for revision in every if revision not in done]


async def _current_heads(db: Database) -> tuple[str, ...]:
    from alembic.runtime.migration import MigrationContext

    engine = db.create_engine(foreign_keys=False, pooled=False)
    try:
        async with engine.connect() as connection:
            heads: tuple[str, ...] = await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_heads()
            )
            return heads
    finally:
        await engine.dispose()


def _in_thread(coroutine: Coroutine[Any, Any, tuple[str, ...]]) -> tuple[str, ...]:
    """Run ``coroutine`` to the end in a thread of its own (a loop may already run here)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _unapplied(app: App, deploy: bool) -> Iterator[Finding]:
    databases: dict[str, Database] = getattr(app.state, "databases", {})
    for name, db in databases.items():
        if db.auto_migrate:
            continue
        option = "" if name == "default" else f" --database {name}"
        try:
            pending = pending_migrations(db)
        except TimeoutError:
            yield Finding(
                "db.W002",
                "warning",
                f"Could not tell whether the {name!r} database is migrated: it did not answer "
                f"within {CONNECT_TIMEOUT:g} s",
                "check DATABASE_URL, and that the database server is up",
            )
            continue
        except Exception as exc:
            yield Finding(
                "db.W002",
                "warning",
                f"Could not tell whether the {name!r} database is migrated: "
                f"{type(exc).__name__}: {exc}",
                "check DATABASE_URL, and that the database server is up",
            )
            continue
        if pending:
            yield Finding(
                "db.E001" if deploy else "db.W001",
                "error" if deploy else "warning",
                f"The {name!r} database has {len(pending)} unapplied migration(s) "
                f"({', '.join(pending)}): the models' tables may not be there",
                f"run `plait db migrate --app APP{option}`",
            )


def _migrations_applied(app: App, settings: Settings) -> Iterator[Finding]:
    return _unapplied(app, deploy=False)


def _migrations_applied_for_deploy(app: App, settings: Settings) -> Iterator[Finding]:
    return _unapplied(app, deploy=True)


CHECKS = [
    Check(_migrations_applied, skip_on_deploy=True),
    Check(_migrations_applied_for_deploy, deploy=True),
]
