"""docs/admin.md runs: its ```python blocks in order, then its ``test_*`` functions.

The page runs in a fresh interpreter in an empty directory: its models (``Author``,
``Post``) are its own, and its SQLite file lands there (see tests/_docs.py).
"""

from __future__ import annotations

from pathlib import Path

from _docs import DOCS, python_blocks, run_page

PAGE = DOCS / "admin.md"


def test_page_code_runs(tmp_path: Path) -> None:
    # Only what needs plait.auth/plait.csrf (other batteries) is skipped.
    skipped = [block.code for block in python_blocks(PAGE) if not block.run]
    assert len(skipped) == 2
    assert all("from plait.auth import" in code for code in skipped)
    ran = run_page(PAGE, directory=tmp_path, isolated=True)
    assert ran.tests == 1
