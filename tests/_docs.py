"""Run a docs page's ```python blocks, so the docs stay true (every docs test uses this).

A page's blocks run in order in one fresh module (a block continues the ones before it), then
every ``test_*`` function they defined is called. A block right after a
``<!-- docs-test: skip -->`` line is only compiled. The page runs either here, in this process
(:func:`run_page`), or in a fresh interpreter (``isolated=True``) for pages whose models or
tables must not meet other pages' in one SQLAlchemy registry. :func:`run_program` runs one
block on its own, for pages where each block is a complete program::

    ran = run_page(DOCS / "csrf.md", directory=tmp_path)
    assert ran.blocks >= 3 and ran.tests == 2

This module sits in ``tests/`` next to the top ``conftest.py``, so every test directory can
import it as ``_docs``.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import re
import subprocess
import sys
import textwrap
import types
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import plait

__all__ = [
    "BLOCK",
    "DOCS",
    "ROOT",
    "SKIP",
    "Block",
    "PageRun",
    "battery_tests",
    "python_blocks",
    "run_page",
    "run_program",
]

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SKIP = "<!-- docs-test: skip -->"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
MODULE = "plait_docs_page"


@dataclass(frozen=True)
class Block:
    """One ```python block: where it is (``page.md:line``), its code, and whether it runs."""

    where: str
    code: str
    run: bool


@dataclass(frozen=True)
class PageRun:
    """What running a page did: how many blocks ran, how many ``test_*`` functions passed."""

    blocks: int
    tests: int


def python_blocks(page: Path, *, skip: str = SKIP) -> list[Block]:
    """The ```python blocks of ``page``, in order; one right after a line starting with
    ``skip`` is not to be run."""
    text = page.read_text()
    blocks = []
    for match in BLOCK.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip().rsplit("\n", 1)[-1]
        run = not before.strip().startswith(skip)
        blocks.append(Block(f"{page.name}:{line}", match.group(1), run))
    return blocks


def run_page(
    page: Path,
    *,
    directory: Path | None = None,
    isolated: bool = False,
    python: Path | None = None,
) -> PageRun:
    """Run ``page``'s blocks in a fresh module (``plait_docs_page``), then its tests.

    ``directory`` is the working directory (the page's SQLite files land there); by default the
    current one, which an isolated run needs. ``isolated`` runs the page in a fresh interpreter
    (warnings are errors, no environment but ``PATH`` and this checkout's ``src``): this
    interpreter's, or ``python`` (another virtualenv's, say).
    """
    blocks = python_blocks(page)
    assert blocks, f"{page.name} has no python blocks"
    if isolated:
        assert directory is not None, "an isolated page runs in a directory of its own"
        return _run_isolated(blocks, directory, Path(python or sys.executable))
    module = types.ModuleType(MODULE)
    module.__file__ = str(page)  # Flask(__name__) finds its root path from it
    namespace = module.__dict__
    ran = 0
    with _chdir(directory):
        sys.modules[MODULE] = module
        try:
            for block in blocks:
                # Inherits this module's ``from __future__ import annotations``, as it always has.
                compiled = compile(block.code, block.where, "exec")
                if block.run:
                    exec(compiled, namespace)
                    ran += 1
            tests = [value for key, value in namespace.items() if key.startswith("test_")]
            for test in tests:
                test()
        finally:
            del sys.modules[MODULE]
    return PageRun(blocks=ran, tests=len(tests))


def battery_tests(
    name: str, api: set[str], modules: Sequence[str], *, min_tests: int
) -> tuple[Callable[..., None], ...]:
    """The tests a battery's docs module has, for ``plait.<name>``: ``docs/<name>.md`` runs
    in a fresh interpreter (so without ``PLAIT_REDIS_URL``: the page's in-process backend)
    with at least ``min_tests`` tests; its ``__all__`` is ``api``; and each private module's
    ``__all__`` names exist::

        test_page_code_runs, test_public_names_are_frozen, test_private_modules_declare_all = (
            battery_tests("cache", CACHE_API, ["_cache"], min_tests=4)
        )
    """

    def test_page_code_runs(tmp_path: Path) -> None:
        ran = run_page(DOCS / f"{name}.md", directory=tmp_path, isolated=True)
        assert ran.tests >= min_tests

    def test_public_names_are_frozen() -> None:
        assert set(importlib.import_module(f"plait.{name}").__all__) == api

    @pytest.mark.parametrize("module", modules)
    def test_private_modules_declare_all(module: str) -> None:
        loaded = importlib.import_module(f"plait.{name}.{module}")
        assert all(hasattr(loaded, member) for member in loaded.__all__)

    return test_page_code_runs, test_public_names_are_frozen, test_private_modules_declare_all


def run_program(block: Block) -> int:
    """Run ``block`` on its own as a complete program (``__main__``), then its ``test_*``
    functions; how many there were."""
    namespace: dict[str, Any] = {"__name__": "__main__"}
    exec(compile(block.code, block.where, "exec", dont_inherit=True), namespace)
    tests = [value for key, value in namespace.items() if key.startswith("test_")]
    tests = [test for test in tests if callable(test)]
    for test in tests:
        test()
    return len(tests)


@contextlib.contextmanager
def _chdir(directory: Path | None) -> Iterator[None]:
    if directory is None:
        yield
        return
    with contextlib.chdir(directory):
        yield


_RUNNER = textwrap.dedent(
    """
    import json, sys, types
    name, blocks = json.loads(sys.stdin.read())
    module = types.ModuleType(name)
    sys.modules[module.__name__] = module
    namespace = module.__dict__
    ran = 0
    for where, code, run in blocks:
        compiled = compile(code, where, "exec")
        if run:
            exec(compiled, namespace)
            ran += 1
    tests = [value for key, value in namespace.items() if key.startswith("test_")]
    for test in tests:
        test()
    print(json.dumps({"blocks": ran, "tests": len(tests)}))
    """
)


def _run_isolated(blocks: list[Block], directory: Path, python: Path) -> PageRun:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONDONTWRITEBYTECODE": "1",
        "HOME": str(directory),
        "PYTHONPATH": str(Path(plait.__file__).resolve().parents[1]),  # the plait under test
    }
    payload = [MODULE, [[block.where, block.code, block.run] for block in blocks]]
    result = subprocess.run(
        [str(python), "-W", "error", "-c", _RUNNER],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        cwd=directory,
        env=env,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    counts = json.loads(result.stdout.strip().rsplit("\n", 1)[-1])
    return PageRun(blocks=counts["blocks"], tests=counts["tests"])
