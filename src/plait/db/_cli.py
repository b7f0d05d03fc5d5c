"""``plait db``: migrations from the command line (registered as a ``plait.commands`` entry
point, so the core CLI never imports the data layer)."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from plait._clioptions import app_option, path_option
from plait._progress import Progress

if TYPE_CHECKING:
    from plait.db._database import Database

__all__ = ["app_database", "db"]

F = TypeVar("F", bound=Callable[..., Any])


def _options(func: F) -> F:
    decorators = [
        app_option,
        click.option(
            "--database",
            default="default",
            show_default=True,
            help="Which of the app's databases (Database(app, name=...)).",
        ),
        path_option(
            "--directory",
            folder=True,
            help="The migrations directory (default: the Database's, ./migrations).",
        ),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def app_database(app_spec: str, app_dir: str, name: str) -> Database:
    """The app's ``Database`` called ``name``, the app found from an ``--app`` spec (as
    ``plait run`` finds it): a usage error when the app can't be loaded, an error when it has
    no such database. Shared by the commands that work on an app's database::

        target = app_database("blog:app", ".", "default")
    """
    from plait.cli import AppLoadError, load_app
    from plait.db._database import Database

    try:
        app = load_app(app_spec, app_dir).app
    except AppLoadError as exc:
        raise click.BadParameter(str(exc), param_hint="--app") from None
    try:
        return Database.of(app, name)
    except RuntimeError as exc:
        raise click.ClickException(f"{app_spec}: {exc}") from None


@contextlib.contextmanager
def _reporting(job: str | None = None) -> Iterator[None]:
    """Show Alembic's progress lines (and, on a terminal, a progress line for ``job`` once
    it takes over a second); turn its errors into one-line messages with hints."""
    from alembic.util import CommandError
    from sqlalchemy.exc import DBAPIError

    logger = logging.getLogger("alembic")
    handler = logging.StreamHandler(sys.stderr)
    # On a terminal, a log line first clears the progress line it would otherwise follow.
    clear = "\r\x1b[K" if sys.stderr.isatty() else ""
    handler.setFormatter(logging.Formatter(clear + "%(message)s"))
    # Only the lines that say what changes: "Running upgrade …", "Detected added table …".
    handler.addFilter(lambda record: record.getMessage().startswith(("Running ", "Detected ")))
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        if job is None:
            yield
        else:
            with Progress(job):
                yield
    except CommandError as exc:
        message = str(exc)
        if "not up to date" in message:
            message += " Run `plait db migrate` first, then make the new migration."
        raise click.ClickException(message) from None
    except DBAPIError as exc:
        raise click.ClickException(f"Database error: {exc.orig}") from None
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _require_migrations(database: Any, directory: Path | None) -> None:
    from plait.db.migrations import has_migrations

    where = directory or database.migrations
    if not has_migrations(where):
        raise click.ClickException(
            f'No migrations in {where}: run `plait db makemigrations -m "..."` first'
        )


@click.group("db")
def db() -> None:
    """Database migrations for the app's models (Alembic, kept in ./migrations)."""


@db.command()
@_options
@click.option("-m", "--message", required=True, help="What the migration does.")
@click.option("--empty", is_flag=True, help="Write an empty migration to fill in by hand.")
def makemigrations(
    app_spec: str, app_dir: str, database: str, directory: Path | None, message: str, empty: bool
) -> None:
    """Write a migration for the model changes since the last one."""
    from plait.db.migrations import has_migrations
    from plait.db.migrations import makemigrations as make

    target = app_database(app_spec, app_dir, database)
    where = directory or target.migrations
    if not has_migrations(where):
        click.echo(f"Creating the migrations directory {where}")
    with _reporting("comparing the models with the database"):
        scripts = make(target, message, empty=empty, directory=where)
    if not scripts:
        click.echo("No changes detected")


def _migration_command(name: str, default: str, summary: str, doing: str) -> click.Command:
    """``plait db migrate`` or ``plait db downgrade``: the same options, either direction."""

    @db.command(name=name, help=summary)
    @_options
    @click.argument("revision", default=default)
    @click.option("--sql", is_flag=True, help="Print the SQL instead of running it.")
    def command(
        app_spec: str, app_dir: str, database: str, directory: Path | None, revision: str, sql: bool
    ) -> None:
        from plait.db import migrations  # Alembic loads only when a command runs

        target = app_database(app_spec, app_dir, database)
        _require_migrations(target, directory)
        with _reporting(None if sql else doing):
            getattr(migrations, name)(target, revision, directory=directory, sql=sql)

    return command


migrate = _migration_command(
    "migrate", "head", "Apply migrations up to REVISION (default: all).", "applying migrations"
)
downgrade = _migration_command(
    "downgrade",
    "-1",
    "Undo migrations down to REVISION (default: the last one; 'base': all).",
    "undoing migrations",
)


def _listing_command(name: str, summary: str) -> click.Command:
    """``plait db history`` or ``plait db current``: the same options, another listing."""

    @db.command(name=name, help=summary)
    @_options
    @click.option("-v", "--verbose", is_flag=True)
    def command(
        app_spec: str, app_dir: str, database: str, directory: Path | None, verbose: bool
    ) -> None:
        from plait.db import migrations  # Alembic loads only when a command runs

        target = app_database(app_spec, app_dir, database)
        _require_migrations(target, directory)
        with _reporting():
            getattr(migrations, name)(target, directory=directory, verbose=verbose)

    return command


history = _listing_command("history", "List the migrations, newest first.")
current = _listing_command("current", "Show the migration the database is at.")
