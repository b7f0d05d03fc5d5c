"""docs/security.md names, for each attack family and fault, the test that proves plait's
defence (issue 12): every test it names exists, so the table cannot point at nothing."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from _docs import DOCS

TESTS = Path(__file__).resolve().parent
ROW = re.compile(r"^\|(.+)\|\s*$", re.MULTILINE)
CODE = re.compile(r"`([^`]+)`")


def named_tests() -> list[tuple[str, str | None]]:
    """``(test file, test function or None)`` for every test the tables name; ``::name`` after
    a file is a test in that file."""
    named: list[tuple[str, str | None]] = []
    for row in ROW.findall((DOCS / "security.md").read_text()):
        cell = row.rsplit("|", 1)[-1]
        current = None
        for code in CODE.findall(cell):
            path, _, name = code.partition("::")
            if path.endswith(".py"):
                current = path
            elif path or current is None:
                continue
            named.append((current, name or None))
    return named


def test_every_test_the_security_page_names_exists() -> None:
    named = named_tests()
    assert len(named) >= 40
    missing = []
    for path, name in named:
        file = TESTS / path
        if not file.exists():
            missing.append(path)
            continue
        if name is not None:
            tree = ast.parse(file.read_text())
            functions = {
                node.name
                for node in ast.walk(tree)
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            }
            if name not in functions:
                missing.append(f"{path}::{name}")
    assert missing == []
