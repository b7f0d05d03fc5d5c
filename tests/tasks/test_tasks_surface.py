"""plait.tasks' public names, frozen: growing them is a deliberate decision."""

from __future__ import annotations

import importlib

import pytest

import plait.tasks

TASKS_API = {
    "Schedule",
    "Task",
    "TaskArgumentError",
    "TaskFailed",
    "TaskHandle",
    "TaskInfo",
    "TaskTimeout",
    "Tasks",
    "backoff",
    "current_task",
    "task_table",
}


def test_tasks_exports_exactly_the_frozen_names() -> None:
    assert set(plait.tasks.__all__) == TASKS_API


@pytest.mark.parametrize(
    "module",
    [
        "_broker",
        "_brokers",
        "_cli",
        "_embedded",
        "_execute",
        "_handle",
        "_inject",
        "_middleware",
        "_records",
        "_status",
        "_task",
        "_tasks",
        "_worker",
    ],
)
def test_private_modules_declare_all(module: str) -> None:
    loaded = importlib.import_module(f"plait.tasks.{module}")
    assert all(hasattr(loaded, name) for name in loaded.__all__)


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    waits = [plait.tasks.backoff(attempt, 1.0, 10.0) for attempt in (1, 2, 3, 4, 5, 6)]
    for attempt, wait in zip((1, 2, 3, 4), waits, strict=False):
        assert 2 ** (attempt - 1) * 0.5 <= wait < 2 ** (attempt - 1)
    assert all(5.0 <= wait < 10.0 for wait in waits[4:])
    assert len({plait.tasks.backoff(3, 1.0, 10.0) for _ in range(20)}) > 1  # jitter
