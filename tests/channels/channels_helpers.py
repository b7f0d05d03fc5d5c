"""Waiting in the channels tests: poll a condition, fail after a few seconds."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["eventually"]


async def eventually(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    """Return once ``condition()`` is true; fail the test after ``seconds``."""
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition did not become true in time")
