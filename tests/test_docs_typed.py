"""Run every Python block of the typed-API pages; each block is a complete program.

A block right after ``<!-- not run: ... -->`` is skipped (FastAPI code shown for comparison).
"""

from __future__ import annotations

import pytest

from _docs import DOCS, Block, python_blocks, run_program

PAGES = ["typed-handlers.md", "dependency-injection.md", "coming-from-fastapi.md"]


def blocks(page: str) -> list[Block]:
    return [block for block in python_blocks(DOCS / page, skip="<!-- not run:") if block.run]


EXAMPLES = [example for page in PAGES for example in blocks(page)]


def test_every_page_has_runnable_examples() -> None:
    for page in PAGES:
        assert len(blocks(page)) >= 3, page


@pytest.mark.parametrize("block", EXAMPLES, ids=[block.where for block in EXAMPLES])
def test_doc_example_runs(block: Block) -> None:
    run_program(block)
