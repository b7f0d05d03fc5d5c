"""``plait worker``, ``plait beat`` and ``plait tasks``: registered as ``plait.commands``
entry points, so the core CLI never imports this battery."""

from __future__ import annotations

import asyncio
import datetime
import os
import time
from typing import Any

import click
import sqlalchemy as sa

from plait._clioptions import app_dir_option, app_option
from plait.tasks._records import FAILED, OUTBOX, PENDING, task_table
from plait.tasks._tasks import Tasks

__all__ = ["beat", "tasks", "worker"]

LOG_FORMAT = "[%(asctime)s][%(levelname)-7s][%(processName)s] %(message)s%(plait_context)s"


def _tasks_of(app_spec: str, app_dir: str) -> Tasks:
    from plait.cli import cli_load_app

    app = cli_load_app(app_spec, app_dir).app
    try:
        return Tasks.of(app)
    except RuntimeError as exc:
        raise click.ClickException(f"{app_spec}: {exc}") from None


def _broker_tasks(app_spec: str, app_dir: str) -> Tasks:
    from plait.tasks._worker import APP_DIR_ENV, APP_ENV, app_tasks

    tasks = _tasks_of(app_spec, app_dir)
    try:
        app_tasks(app_spec, app_dir)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    os.environ[APP_ENV] = app_spec
    os.environ[APP_DIR_ENV] = os.path.abspath(app_dir)
    return tasks


@click.command()
@click.argument("app_spec", metavar="APP", envvar="PLAIT_APP")
@app_dir_option
@click.option("--workers", default=1, show_default=True, help="Worker processes.")
@click.option(
    "--concurrency",
    type=int,
    default=None,
    help="Tasks each process runs at once (default: Tasks(concurrency=…)).",
)
@click.option("--log-level", default="INFO", show_default=True)
def worker(
    app_spec: str, app_dir: str, workers: int, concurrency: int | None, log_level: str
) -> None:
    """Run taskiq's worker for the app's tasks (needs PLAIT_TASKS_URL)."""
    from taskiq.cli.worker.args import WorkerArgs
    from taskiq.cli.worker.run import run_worker

    from plait.tasks._execute import install_log_context

    tasks = _broker_tasks(app_spec, app_dir)
    install_log_context()
    args = WorkerArgs(
        broker="plait.tasks._worker:broker",
        modules=[],
        workers=workers,
        max_async_tasks=concurrency or tasks.concurrency,
        log_format=LOG_FORMAT,
        log_level=log_level.upper(),  # type: ignore[arg-type]
        shutdown_timeout=10,
    )
    raise SystemExit(run_worker(args) or 0)


@click.command()
@click.argument("app_spec", metavar="APP", envvar="PLAIT_APP")
@app_dir_option
@click.option("--log-level", default="INFO", show_default=True)
def beat(app_spec: str, app_dir: str, log_level: str) -> None:
    """Run taskiq's scheduler: enqueue the app's cron=/every= tasks when they are due.

    Run one beat per app (two would enqueue each run twice)."""
    from taskiq.cli.scheduler.args import SchedulerArgs
    from taskiq.cli.scheduler.run import run_scheduler

    from plait.tasks._worker import scheduler

    _broker_tasks(app_spec, app_dir)
    args = SchedulerArgs(
        scheduler=scheduler(),
        modules=[],
        log_level=log_level.upper(),  # type: ignore[arg-type]
        update_interval=5,
    )
    asyncio.run(run_scheduler(args))


# ------------------------------------------------------------------ plait tasks …


@click.group()
def tasks() -> None:
    """The app's background tasks: status, the failed ones, retrying them."""


def _run(app_spec: str, app_dir: str, work: Any) -> Any:
    app_tasks = _tasks_of(app_spec, app_dir)

    async def main() -> Any:
        try:
            return await work(app_tasks)
        finally:
            await app_tasks.database.disconnect()

    return asyncio.run(main())


@tasks.command()
@app_option
def status(app_spec: str, app_dir: str) -> None:
    """Queue depth, running, scheduled and failed tasks."""
    from plait.tasks._status import collect

    for label, value in _run(app_spec, app_dir, collect):
        click.echo(f"{label:<12} {value}")


@tasks.command()
@app_option
@click.option("--limit", default=50, show_default=True)
def failed(app_spec: str, app_dir: str, limit: int) -> None:
    """The dead letters: tasks whose every try failed."""

    async def work(app_tasks: Tasks) -> list[Any]:
        query = (
            sa.select(task_table)
            .where(task_table.c.state == FAILED)
            .order_by(task_table.c.created_at.desc())
            .limit(limit)
        )
        async with app_tasks.database.session() as session:
            return list((await session.execute(query)).all())

    rows = _run(app_spec, app_dir, work)
    if not rows:
        click.echo("No failed tasks.")
    for row in rows:
        when = datetime.datetime.fromtimestamp(row.created_at, datetime.UTC)
        last = (row.error or "").strip().splitlines()[-1:] or [""]
        click.echo(f"{row.id}  {row.name}  {when:%Y-%m-%d %H:%M:%S}Z  tries={row.attempts}")
        click.echo(f"    {row.arguments.decode()}  {last[0]}")


@tasks.command()
@app_option
@click.argument("task_id")
def retry(app_spec: str, app_dir: str, task_id: str) -> None:
    """Run a failed task again (its tries start over)."""

    async def work(app_tasks: Tasks) -> int:
        state = PENDING if app_tasks.embedded else OUTBOX
        async with app_tasks.database.transaction() as session:
            result = await session.execute(
                sa.update(task_table)
                .where(task_table.c.id == task_id, task_table.c.state == FAILED)
                .values(state=state, attempts=0, run_at=time.time(), locked_until=None)
            )
        return int(result.rowcount)  # type: ignore[attr-defined]

    if not _run(app_spec, app_dir, work):
        raise click.ClickException(f"No failed task with id {task_id!r}")
    click.echo(f"{task_id}: queued again")
