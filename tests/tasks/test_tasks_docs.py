"""docs/tasks.md runs: its ```python blocks, then its ``test_*`` functions (in a fresh
interpreter and an empty directory, where its SQLite file lands)."""

from __future__ import annotations

from pathlib import Path

from _docs import DOCS, run_page


def test_tasks_page_runs(tmp_path: Path) -> None:
    ran = run_page(DOCS / "tasks.md", directory=tmp_path, isolated=True)
    assert ran.tests == 5
