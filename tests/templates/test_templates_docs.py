"""docs/templates.md runs: its ```python blocks in order in one fresh module, then its tests."""

from __future__ import annotations

from pathlib import Path

import plait.templates
from _docs import DOCS, run_page


def test_page_code_runs(tmp_path: Path) -> None:
    ran = run_page(DOCS / "templates.md", directory=tmp_path)
    assert ran.blocks >= 3
    assert ran.tests == 3


def test_public_surface() -> None:
    assert plait.templates.__all__ == [
        "AUTOESCAPE_EXTENSIONS",
        "ContextProcessor",
        "MissingDependencyError",
        "TemplateNotFound",
        "Templates",
    ]
    for name in ("TemplateNotFound", "Templates"):
        assert getattr(plait.templates, name).__module__ == "plait.templates._templates"
