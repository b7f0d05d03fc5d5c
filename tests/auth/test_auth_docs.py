"""docs/auth.md runs: its ```python blocks in order, then its ``test_*`` functions.

The page runs in a fresh interpreter in an empty directory (no ``.env`` to pick up), with this
checkout's ``src`` first on the path (see tests/_docs.py).
"""

from __future__ import annotations

from pathlib import Path

from _docs import DOCS, run_page


def test_page_code_runs(tmp_path: Path) -> None:
    ran = run_page(DOCS / "auth.md", directory=tmp_path, isolated=True)
    assert ran.tests, "the page defines no test_ function"
