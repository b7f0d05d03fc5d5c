"""The code in the README and docs/ runs, so the docs stay true.

Each page's ```python blocks run in order in one fresh module (a block continues the ones
before it), then every ``test_*`` function they defined is called. A block right after a
``<!-- docs-test: skip -->`` line is only compiled.
"""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [
    ROOT / "README.md",
    ROOT / "docs" / "getting-started.md",
    ROOT / "docs" / "coming-from-flask.md",
]
SKIP = "<!-- docs-test: skip -->"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def python_blocks(page: Path) -> list[tuple[int, str, bool]]:
    """(line number, code, whether to run it) for each ```python block of ``page``."""
    text = page.read_text()
    blocks = []
    for match in BLOCK.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip().rsplit("\n", 1)[-1]
        blocks.append((line, match.group(1), before.strip() != SKIP))
    return blocks


@pytest.fixture
def page_module() -> Iterator[types.ModuleType]:
    module = types.ModuleType("plait_docs_page")
    sys.modules[module.__name__] = module
    yield module
    del sys.modules[module.__name__]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_page_code_runs(page: Path, page_module: types.ModuleType) -> None:
    blocks = python_blocks(page)
    assert blocks, f"{page.name} has no python blocks"
    page_module.__file__ = str(page)  # Flask(__name__) finds its root path from it
    namespace = page_module.__dict__
    for line, code, run in blocks:
        compiled = compile(code, f"{page.name}:{line}", "exec")
        if run:
            exec(compiled, namespace)
    tests = [value for name, value in namespace.items() if name.startswith("test_")]
    for test in tests:
        test()


def test_pages_link_to_existing_files() -> None:
    for page in [*PAGES, ROOT / "docs" / "index.md", ROOT / "docs" / "decisions.md"]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_documented_public_names_exist() -> None:
    import importlib

    for page in [*PAGES, ROOT / "docs" / "index.md", ROOT / "docs" / "decisions.md"]:
        for module, names in re.findall(
            r"^\s*from (plait[\w.]*) import ([\w, ]+)$", page.read_text(), re.MULTILINE
        ):
            imported = importlib.import_module(module)
            for name in names.split(","):
                assert hasattr(imported, name.strip()), f"{page.name}: {module}.{name.strip()}"
