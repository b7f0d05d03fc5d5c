#!/usr/bin/env python3
"""Lines of Python of RealWorld backends, counted as bench/count_lines.py counts them
(non-blank lines of code: no comments, no docstrings), tests and migrations left out.

    python bench/realworld/count.py examples/conduit path/to/fastapi-realworld-example-app/app

Each argument is a directory; ``.sql`` files in it (queries kept outside Python) are counted
apart, without blank lines and ``--`` comments.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from count_lines import python_lines

SKIPPED = {"migrations", "tests", "__pycache__", ".venv"}


def count(root: Path) -> tuple[int, int, int]:
    """(Python lines, Python files, SQL lines) under ``root``."""
    lines = files = sql = 0
    for path in sorted(root.rglob("*")):
        if SKIPPED & set(path.relative_to(root).parts) or not path.is_file():
            continue
        if path.suffix == ".py":
            lines += python_lines(path.read_text())
            files += 1
        elif path.suffix == ".sql":
            sql += sum(
                1
                for line in path.read_text().splitlines()
                if line.strip() and not line.strip().startswith("--")
            )
    return lines, files, sql


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        lines, files, sql = count(Path(argument))
        print(f"{argument}: {lines} lines of Python in {files} files, {sql} lines of SQL")
