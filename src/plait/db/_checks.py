"""The data layer's checks (``plait check``): are the migrations applied?

Registered as the ``db`` entry point of the ``plait.checks`` group, so the core never imports
the data layer; a Database with ``auto_migrate=True`` migrates itself at start-up and is
left alone.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from plait._settings import Settings
from plait.checks import Check, Finding

if TYPE_CHECKING:
    from plait._app import App
    from plait.db._database import Database

__all__ = ["CHECKS", "CONNECT_TIMEOUT", "missing_from_database", "pending_migrations"]

CONNECT_TIMEOUT = 5.0
"""Seconds the migrations check waits for the database before reporting ``db.W002``."""


def pending_migrations(db: Database) -> list[str]:
    """The revisions in ``db.migrations`` the database has not applied yet, oldest first
    (all of them for a SQLite file that does not exist yet: nothing is created to find out)."""
    from alembic.script import ScriptDirectory

    from plait.db.migrations import has_migrations, make_config

    if not has_migrations(db.migrations):
        return []
    scripts = ScriptDirectory.from_config(make_config(db))
    every = [script.revision for script in scripts.walk_revisions()]
    every.reverse()
    database = db.url.database or ":memory:"
    on_disk = db.is_sqlite and database != ":memory:" and not database.startswith("file:")
    if on_disk and not Path(database).exists():
        return every
    applied = _ask(db, _current_heads)
    if not applied:
        return every
    done = {rev.revision for head in applied for rev in scripts.iterate_revisions(head, "base")}
    return [revision for revision in every if revision not in done]


def _current_heads(sync: sa.Connection) -> tuple[str, ...]:
    from alembic.runtime.migration import MigrationContext

    heads: tuple[str, ...] = MigrationContext.configure(sync).get_current_heads()
    return heads


def missing_from_database(db: Database) -> list[str]:
    """The tables (``name``) and columns (``table.column``) of ``db.metadata`` that the
    database lacks: models changed or added (a battery's, say) with no migration that creates
    them, so requests that touch them fail. Only asked of a database whose migrations are all
    applied."""
    return list(_ask(db, lambda sync: tuple(_compare(sa.inspect(sync), db.metadata))))


def _compare(inspector: sa.Inspector, metadata: sa.MetaData) -> Iterator[str]:
    tables: dict[str | None, set[str]] = {}
    for table in metadata.sorted_tables:
        if table.schema not in tables:
            tables[table.schema] = set(inspector.get_table_names(schema=table.schema))
        if table.name not in tables[table.schema]:
            yield table.fullname
            continue
        have = {column["name"] for column in inspector.get_columns(table.name, table.schema)}
        yield from (f"{table.fullname}.{c.name}" for c in table.columns if c.name not in have)


def _ask(db: Database, question: Callable[[sa.Connection], tuple[str, ...]]) -> tuple[str, ...]:
    """``question`` answered on a connection of its own to ``db``, within
    :data:`CONNECT_TIMEOUT` (a database server that does not answer must not hold `plait run`
    up for a minute), in a thread of its own (a loop may already run here)."""

    async def ask() -> tuple[str, ...]:
        engine = db.create_engine(foreign_keys=False, pooled=False)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(question)
        finally:
            await engine.dispose()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, asyncio.wait_for(ask(), CONNECT_TIMEOUT)).result()


def _unapplied(app: App, deploy: bool) -> Iterator[Finding]:
    databases: dict[str, Database] = getattr(app.state, "databases", {})
    for name, db in databases.items():
        if db.auto_migrate:
            continue
        option = "" if name == "default" else f" --database {name}"
        from plait.db.migrations import has_migrations  # Alembic loads only when checked

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
        elif has_migrations(db.migrations):
            yield from _unmigrated_models(name, db, option, deploy)


def _unmigrated_models(name: str, db: Database, option: str, deploy: bool) -> Iterator[Finding]:
    """Django's "your models have changes that are not yet reflected in a migration"."""
    try:
        missing = missing_from_database(db)
    except Exception:  # the migrations check above reached it; a second failure says no more
        return
    if missing:
        more = len(missing) - 8
        shown = ", ".join(missing[:8]) + (f" and {more} more" if more > 0 else "")
        yield Finding(
            "db.E003" if deploy else "db.W003",
            "error" if deploy else "warning",
            f"The models have tables or columns that no migration of the {name!r} database "
            f"creates ({shown}): requests that use them will fail",
            f"run `plait db makemigrations --app APP{option}`, then `plait db migrate`",
        )


def _migrations_applied(app: App, settings: Settings) -> Iterator[Finding]:
    return _unapplied(app, deploy=False)


def _migrations_applied_for_deploy(app: App, settings: Settings) -> Iterator[Finding]:
    return _unapplied(app, deploy=True)


CHECKS = [
    Check(_migrations_applied, skip_on_deploy=True),
    Check(_migrations_applied_for_deploy, deploy=True),
]
