"""Run every Python block of the typed-API pages; each block is a complete program.

A block right after ``<!-- not run: ... -->`` is skipped (FastAPI code shown for comparison).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

DOCS = Path(__file__).parents[1] / "docs"
PAGES = ["typed-handlers.md", "dependency-injection.md", "coming-from-fastapi.md"]
BLOCK = re.compile(r"(<!-- not run:[^>]*-->\s*)?```python\n(.*?)```", re.S)


def blocks(page: str) -> list[tuple[str, str]]:
    text = (DOCS / page).read_text(encoding="utf-8")
    found = []
    for match in BLOCK.finditer(text):
        if match.group(1):
            continue
        line = text.count("\n", 0, match.start(2)) + 1
        found.append((f"{page}:{line}", match.group(2)))
    return found


EXAMPLES = [example for page in PAGES for example in blocks(page)]


def test_every_page_has_runnable_examples() -> None:
    for page in PAGES:
        assert len(blocks(page)) >= 3, page


@pytest.mark.parametrize(("where", "source"), EXAMPLES, ids=[w for w, _ in EXAMPLES])
def test_doc_example_runs(where: str, source: str) -> None:
    namespace: dict[str, Any] = {"__name__": "__main__"}
    exec(compile(source, where, "exec", dont_inherit=True), namespace)
    for name, value in list(namespace.items()):
        if name.startswith("test_") and callable(value):
            value()
