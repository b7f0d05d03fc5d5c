"""docs/observability.md: its code runs (in a fresh interpreter: it declares a database)."""

from __future__ import annotations

from pathlib import Path

from _docs import DOCS, run_page


def test_observability_page_runs(tmp_path: Path) -> None:
    ran = run_page(DOCS / "observability.md", directory=tmp_path, isolated=True)
    assert ran.tests == 3
