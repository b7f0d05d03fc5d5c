"""What ``plait worker`` and ``plait beat`` hand to taskiq's own worker and scheduler.

taskiq's worker imports its broker by name in each worker process; ``broker`` here is a
factory that loads the app named by ``PLAIT_TASKS_APP`` (and ``PLAIT_TASKS_APP_DIR``) and
returns the broker of its :class:`~plait.tasks.Tasks`.
"""

from __future__ import annotations

import os

from taskiq import AsyncBroker, TaskiqScheduler
from taskiq.schedule_sources import LabelScheduleSource

from plait.tasks._tasks import Tasks

__all__ = ["APP_DIR_ENV", "APP_ENV", "app_tasks", "broker", "scheduler"]

APP_ENV = "PLAIT_TASKS_APP"
APP_DIR_ENV = "PLAIT_TASKS_APP_DIR"


def app_tasks(spec: str, app_dir: str) -> Tasks:
    """The ``Tasks`` of the app named by ``spec``; a clear error when it can't have workers."""
    from plait.cli import load_app

    tasks = Tasks.of(load_app(spec, app_dir).app)
    if tasks.embedded:
        raise RuntimeError(
            "PLAIT_TASKS_URL is not set, so this app runs its tasks in its own process "
            "(plait run); set it to amqp://… or redis://… to run them in workers"
        )
    return tasks


def broker() -> AsyncBroker:
    """The broker of the app in ``$PLAIT_TASKS_APP`` (taskiq's worker calls this)."""
    from plait.tasks._broker import BrokerBackend

    backend = app_tasks(os.environ[APP_ENV], os.environ.get(APP_DIR_ENV, ".")).backend
    assert isinstance(backend, BrokerBackend)
    return backend.broker


def scheduler() -> TaskiqScheduler:
    """taskiq's scheduler over the app's periodic tasks (``cron=``/``every=``)."""
    app_broker = broker()
    return TaskiqScheduler(app_broker, [LabelScheduleSource(app_broker)])
