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


def test_cron_schedules_name_one_run_per_matching_minute() -> None:
    import datetime

    from plait.tasks import Tasks
    from plait.tasks._embedded import schedule_slot

    tasks = Tasks(url=None)

    @tasks.task(name="nightly", cron="0 3 * * *")
    async def nightly() -> None: ...

    at_three = datetime.datetime(2026, 12, 7, 3, 0, 30, tzinfo=datetime.UTC).timestamp()
    assert schedule_slot(nightly, at_three) == "nightly@202612070300"
    assert schedule_slot(nightly, at_three + 60) is None
    with pytest.raises(ValueError, match="not a cron expression"):
        tasks.task(cron="*/5 * * *")(nightly.func)
    with pytest.raises(ValueError, match="whole seconds"):
        tasks.task(every=0.5)(nightly.func)
    with pytest.raises(TypeError, match="can't have required arguments"):

        @tasks.task(every=5)
        async def needs(x: int) -> None: ...
