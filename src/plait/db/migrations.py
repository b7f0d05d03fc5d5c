"""Migrations from Python: what the ``plait db`` commands call, and the ``env.py`` hook.

::

    from plait.db import migrations

    migrations.makemigrations(db, "add articles")
    migrations.migrate(db)             # to the latest
    migrations.downgrade(db, "base")   # undo them all

Alembic, driven programmatically: no ``alembic.ini``, one ``migrations/`` per project.

The migrations directory is created from a template on the first ``makemigrations``. Its
``env.py`` calls :func:`run_migrations`, which compares against the app's metadata and runs
every migration in batch mode (so ``ALTER`` works on SQLite and the same files run on
PostgreSQL), through a synchronous connection borrowed from the async engine (``run_sync``).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from plait._optional import require
from plait.db._columntypes import render_column_type

if TYPE_CHECKING:
    import sqlalchemy as sa
    from alembic.config import Config
    from alembic.operations.ops import MigrationScript
    from alembic.runtime.migration import MigrationContext
    from alembic.script import Script

    from plait.db._database import Database

__all__ = [
    "current",
    "downgrade",
    "has_migrations",
    "history",
    "init",
    "make_config",
    "makemigrations",
    "migrate",
    "run_migrations",
    "upgrade_async",
]

_TEMPLATE = Path(__file__).parent / "templates" / "migrations"
_FILE_TEMPLATE = (
    "%%(year)d%%(month).2d%%(day).2d_%%(hour).2d%%(minute).2d%%(second).2d_%%(rev)s_%%(slug)s"
)
_DATABASE = "plait.database"
_CONNECTION = "connection"
_SKIP_EMPTY = "plait.skip_empty"


def _alembic() -> Any:
    module = require("alembic", "db", "plait's migrations")
    _quiet_serial_notes()
    return module


def _not_a_serial_note(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith("Detected sequence named")


def _quiet_serial_notes() -> None:
    """Drop Alembic's "Detected sequence … assuming SERIAL and omitting" notes.

    PostgreSQL makes an integer primary key SERIAL: a sequence the column owns, with a
    ``nextval()`` server default. Autogenerate recognises it, leaves it out of the comparison
    (correctly), and says so at INFO level for every table on every ``makemigrations``: noise
    that hides the real changes. The note is dropped; anything else Alembic says is kept.
    """
    logger = logging.getLogger("alembic.ddl.postgresql")
    if _not_a_serial_note not in logger.filters:
        logger.addFilter(_not_a_serial_note)


def has_migrations(directory: str | Path) -> bool:
    """Whether ``directory`` holds an Alembic environment (an ``env.py``)."""
    return (Path(directory) / "env.py").is_file()


def init(directory: str | Path) -> bool:
    """Create the migrations directory from plait's template; False if it already exists."""
    target = Path(directory)
    if has_migrations(target):
        return False
    if target.exists() and any(target.iterdir()):
        raise FileExistsError(
            f"{target} exists and is not a migrations directory (it has no env.py)"
        )
    shutil.copytree(
        _TEMPLATE, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
    )
    return True


def make_config(
    db: Database, directory: str | Path | None = None, stdout: TextIO | None = None
) -> Config:
    """An Alembic ``Config`` for ``db``'s migrations (``db.migrations`` unless given)."""
    _alembic()
    from alembic.config import Config

    config = Config(stdout=stdout or sys.stdout)
    config.set_main_option("script_location", str(Path(directory or db.migrations)))
    config.set_main_option("file_template", _FILE_TEMPLATE)
    config.set_main_option(
        "sqlalchemy.url", db.url.render_as_string(hide_password=False).replace("%", "%%")
    )
    ruff = shutil.which("ruff")
    if ruff is not None:
        # New migration files come out formatted like the rest of the project.
        config.set_section_option("post_write_hooks", "hooks", "ruff")
        config.set_section_option("post_write_hooks", "ruff.type", "exec")
        config.set_section_option("post_write_hooks", "ruff.executable", ruff)
        config.set_section_option(
            "post_write_hooks", "ruff.options", "format --quiet REVISION_SCRIPT_FILENAME"
        )
    config.attributes[_DATABASE] = db
    return config


# ---------------------------------------------------------------------------- env.py


def run_migrations(context: Any) -> None:
    """Run migrations from a project's ``env.py`` (given Alembic's ``context`` module).

    The database comes from the ``plait db`` command that started Alembic, or from the app
    named by ``PLAIT_APP`` when plain ``alembic`` runs.
    """
    config = context.config
    _quiet_serial_notes()
    db: Database = config.attributes.get(_DATABASE) or _database_from_environment()
    if context.is_offline_mode():
        context.configure(
            url=db.url.render_as_string(hide_password=False),
            target_metadata=db.metadata,
            literal_binds=True,
            render_as_batch=True,
            render_item=_render_item,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get(_CONNECTION)
    if connection is not None:
        _run(context, connection, db)
        return
    asyncio.run(_run_async(context, db))


async def _run_async(context: Any, db: Database) -> None:
    engine = db.create_engine(foreign_keys=False, pooled=False)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(lambda sync: _run(context, sync, db))
            await connection.commit()
    finally:
        await engine.dispose()


def _render_item(kind: str, item: Any, autogen_context: Any) -> str | bool:
    """Migrations spell plait's column types in SQLAlchemy's own words: a migration imports
    nothing of plait's, so changing plait never breaks an old migration."""
    from plait.db._datetime import UTCDateTime

    column_type = render_column_type(kind, item, autogen_context)  # EmailType, URLType
    if column_type:
        return column_type
    if kind == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(context: Any, connection: sa.Connection, db: Database) -> None:
    options: dict[str, Any] = {"render_item": _render_item}
    if context.config.attributes.get(_SKIP_EMPTY):
        options["process_revision_directives"] = _skip_empty
    context.configure(
        connection=connection,
        target_metadata=db.metadata,
        # Batch mode: SQLite can't ALTER most things, so tables are copied; on PostgreSQL the
        # same operations are plain ALTERs. One set of migration files serves both.
        render_as_batch=True,
        compare_type=True,
        # SQLite DDL is transactional too, since plait's engines emit BEGIN themselves: a
        # migration that fails half-way leaves nothing behind on either database.
        transactional_ddl=True,
        **options,
    )
    with context.begin_transaction():
        context.run_migrations()


def _skip_empty(
    context: MigrationContext, revision: Any, directives: list[MigrationScript]
) -> None:
    if (
        directives
        and directives[0].upgrade_ops is not None
        and directives[0].upgrade_ops.is_empty()
    ):
        directives[:] = []


def _database_from_environment() -> Database:
    import os

    from plait.cli import load_app
    from plait.db._database import Database

    spec = os.environ.get("PLAIT_APP")
    if not spec:
        raise RuntimeError(
            "Alembic ran outside `plait db`: set PLAIT_APP to the app ('module:app') so that "
            "env.py can find its database"
        )
    return Database.of(load_app(spec).app)


# ---------------------------------------------------------------------------- commands


def makemigrations(
    db: Database,
    message: str,
    *,
    empty: bool = False,
    directory: str | Path | None = None,
    stdout: TextIO | None = None,
) -> list[Script]:
    """Write a migration for the models' changes since the last one (``[]`` if none).

    ``empty=True`` writes an empty one to fill in by hand. Creates the migrations directory
    on first use. The database must be at the latest migration (``migrate`` first).
    """
    from alembic import command

    init(directory or db.migrations)
    config = make_config(db, directory, stdout)
    config.attributes[_SKIP_EMPTY] = not empty
    scripts = command.revision(config, message=message, autogenerate=not empty)
    found = scripts if isinstance(scripts, list) else [scripts]
    return [script for script in found if script is not None]


def migrate(
    db: Database,
    revision: str = "head",
    *,
    directory: str | Path | None = None,
    stdout: TextIO | None = None,
    sql: bool = False,
) -> None:
    """Apply migrations up to ``revision`` (default: all of them); ``sql=True`` prints the
    SQL instead of running it."""
    from alembic import command

    command.upgrade(make_config(db, directory, stdout), revision, sql=sql)


def downgrade(
    db: Database,
    revision: str = "-1",
    *,
    directory: str | Path | None = None,
    stdout: TextIO | None = None,
    sql: bool = False,
) -> None:
    """Undo migrations down to ``revision`` (default: the last one; ``base``: all)."""
    from alembic import command

    command.downgrade(make_config(db, directory, stdout), revision, sql=sql)


def history(
    db: Database,
    *,
    directory: str | Path | None = None,
    stdout: TextIO | None = None,
    verbose: bool = False,
) -> None:
    """Print the migrations, newest first, marking the database's current one."""
    from alembic import command

    command.history(make_config(db, directory, stdout), verbose=verbose, indicate_current=True)


def current(
    db: Database,
    *,
    directory: str | Path | None = None,
    stdout: TextIO | None = None,
    verbose: bool = False,
) -> None:
    """Print the revision the database is at."""
    from alembic import command

    command.current(make_config(db, directory, stdout), verbose=verbose)


async def upgrade_async(db: Database, revision: str = "head") -> None:
    """Apply migrations from inside a running event loop (``auto_migrate`` at start-up)."""
    from alembic import command

    def upgrade(connection: sa.Connection) -> None:
        config = make_config(db)
        config.attributes[_CONNECTION] = connection
        command.upgrade(config, revision)

    memory = db.is_sqlite and db.url.database in (None, "", ":memory:")
    # An in-memory SQLite database exists only inside the app's engine.
    engine = db.engine if memory else db.create_engine(foreign_keys=False, pooled=False)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(upgrade)
            await connection.commit()
    finally:
        if engine is not db.engine:
            await engine.dispose()
