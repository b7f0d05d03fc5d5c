"""docs/channels.md: its code runs."""

from __future__ import annotations

from _docs import DOCS, run_page


def test_channels_page_runs() -> None:
    ran = run_page(DOCS / "channels.md")
    assert ran.tests == 1
    assert ran.blocks >= 3
