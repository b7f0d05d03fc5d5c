"""The data layer's docs run: each page's ```python blocks, then its ``test_*`` functions.

Each page runs in a fresh interpreter, in an empty directory: its models are its own (the
examples all say ``Article``), and its default SQLite file lands there.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [
    ROOT / "docs" / "models-and-migrations.md",
    ROOT / "docs" / "settings.md",
    ROOT / "docs" / "coming-from-django.md",
    ROOT / "docs" / "forms.md",  # its models are its own too
]
SKIP = "<!-- docs-test: skip -->"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)

RUNNER = textwrap.dedent(
    """
    import json, sys, types
    blocks = json.loads(sys.stdin.read())
    module = types.ModuleType("plait_docs_page")
    sys.modules[module.__name__] = module
    namespace = module.__dict__
    for name, code, run in blocks:
        compiled = compile(code, name, "exec")
        if run:
            exec(compiled, namespace)
    tests = [value for key, value in namespace.items() if key.startswith("test_")]
    assert tests, "the page defines no test_ function"
    for test in tests:
        test()
    print(f"ran {len(tests)} test(s)")
    """
)


def python_blocks(page: Path) -> list[tuple[str, str, bool]]:
    text = page.read_text()
    blocks = []
    for match in BLOCK.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip().rsplit("\n", 1)[-1]
        blocks.append((f"{page.name}:{line}", match.group(1), before.strip() != SKIP))
    return blocks


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_page_code_runs(page: Path, tmp_path: Path) -> None:
    import json

    blocks = python_blocks(page)
    assert blocks, f"{page.name} has no python blocks"
    env = {"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", RUNNER],
        input=json.dumps(blocks),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ran " in result.stdout
