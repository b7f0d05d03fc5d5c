"""docs/mail.md runs: its ```python blocks in order, then its ``test_*`` functions."""

from __future__ import annotations

from _docs import DOCS, run_page


def test_page_code_runs() -> None:
    ran = run_page(DOCS / "mail.md")
    assert ran.tests == 2
