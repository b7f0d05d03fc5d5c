"""The ``plait_task`` table: the outbox, the embedded queue, the dead letters and results.

One row per task that is not (yet) in a broker's hands, or that is kept after it ran:

- ``outbox``: written in the enqueuing transaction, published to the broker after the
  commit (and by the relay if the process died in between);
- ``pending``: the embedded backend's queue (``run_at`` says when, ``locked_until`` is the
  lease of the process running it);
- ``failed``: tried ``retries + 1`` times, dead-lettered until ``plait tasks retry ID``;
- ``done``: finished, holding its result (tasks that return something) for a while.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from plait.db import Model

__all__ = [
    "DONE",
    "FAILED",
    "OUTBOX",
    "PENDING",
    "delete",
    "new_row",
    "task_table",
]

OUTBOX = "outbox"
PENDING = "pending"
FAILED = "failed"
DONE = "done"

task_table = sa.Table(
    "plait_task",
    Model.metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("arguments", sa.LargeBinary, nullable=False),
    sa.Column("state", sa.String(10), nullable=False),
    sa.Column("run_at", sa.Float, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("locked_until", sa.Float, nullable=True),
    sa.Column("request_id", sa.String(200), nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("result", sa.LargeBinary, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Index("ix_plait_task_state_run_at", "state", "run_at"),
)
"""The table, on ``plait.db.Model.metadata`` so that migrations and ``create_all`` see it."""


def new_row(
    task_id: str,
    name: str,
    arguments: bytes,
    state: str,
    *,
    run_at: float | None = None,
    attempts: int = 0,
    request_id: str | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    now = time.time()
    return {
        "id": task_id,
        "name": name,
        "arguments": arguments,
        "state": state,
        "run_at": now if run_at is None else run_at,
        "attempts": attempts,
        "locked_until": None,
        "request_id": request_id,
        "error": error,
        "result": None,
        "created_at": now,
    }


async def delete(session: AsyncSession, task_id: str) -> None:
    await session.execute(sa.delete(task_table).where(task_table.c.id == task_id))
