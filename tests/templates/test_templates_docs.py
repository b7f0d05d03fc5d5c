"""docs/templates.md runs: its ```python blocks in order in one fresh module, then its tests."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

import plait.templates

PAGE = Path(__file__).resolve().parents[2] / "docs" / "templates.md"
SKIP = "<!-- docs-test: skip -->"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def test_page_code_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    module = types.ModuleType("plait_templates_docs")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    text = PAGE.read_text()
    ran = 0
    for match in BLOCK.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip().rsplit("\n", 1)[-1]
        code = compile(match.group(1), f"{PAGE.name}:{line}", "exec")
        if before.strip() != SKIP:
            exec(code, module.__dict__)
            ran += 1
    tests = [value for name, value in module.__dict__.items() if name.startswith("test_")]
    assert ran >= 3
    assert len(tests) == 2
    for test in tests:
        test()


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
