"""The code in the README and docs/ runs, so the docs stay true.

Each page's ```python blocks run in order in one fresh module (a block continues the ones
before it), then every ``test_*`` function they defined is called. A block right after a
``<!-- docs-test: skip -->`` line is only compiled (see tests/_docs.py).
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pytest

from _docs import DOCS, ROOT, run_page

# The README's blocks are files of a quickstart project: tests/test_quickstart.py runs them.
PAGES = [
    DOCS / "getting-started.md",
    DOCS / "coming-from-flask.md",
    DOCS / "forms.md",
    DOCS / "testing.md",
    DOCS / "outages.md",
    DOCS / "checks.md",
]
# Pages that define models run in a fresh interpreter, in an empty directory: their tables
# are their own (in this process another test's ``Author`` may already be in the registry).
ISOLATED = {DOCS / "forms.md"}


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_page_code_runs(page: Path, tmp_path: Path) -> None:
    if page in ISOLATED:
        run_page(page, directory=tmp_path, isolated=True)
    else:
        run_page(page)


def test_pages_link_to_existing_files() -> None:
    for page in [*PAGES, ROOT / "README.md", DOCS / "index.md", DOCS / "decisions.md"]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_documented_public_names_exist() -> None:
    import importlib

    for page in [*PAGES, ROOT / "README.md", DOCS / "index.md", DOCS / "decisions.md"]:
        for module, names in re.findall(
            r"^\s*from (plait[\w.]*) import ([\w, ]+)$", page.read_text(), re.MULTILINE
        ):
            imported = importlib.import_module(module)
            for name in map(str.strip, names.split(",")):
                if not hasattr(imported, name):  # as ``from`` does: maybe a submodule
                    with contextlib.suppress(ImportError):
                        importlib.import_module(f"{module}.{name}")
                assert hasattr(imported, name), f"{page.name}: {module}.{name}"
