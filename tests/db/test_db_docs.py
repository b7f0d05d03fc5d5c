"""The data layer's docs run: each page's ```python blocks, then its ``test_*`` functions.

Each page runs in a fresh interpreter, in an empty directory: its models are its own (the
examples all say ``Article``), and its default SQLite file lands there (see tests/_docs.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from _docs import DOCS, run_page

PAGES = [DOCS / "models-and-migrations.md", DOCS / "settings.md", DOCS / "coming-from-django.md"]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_page_code_runs(page: Path, tmp_path: Path) -> None:
    ran = run_page(page, directory=tmp_path, isolated=True)
    assert ran.tests, "the page defines no test_ function"
