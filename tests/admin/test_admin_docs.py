"""docs/admin.md runs: its ```python blocks in order, then its ``test_*`` functions.

The page runs in a fresh interpreter in an empty directory: its models (``Author``,
``Post``) are its own, and its SQLite file lands there.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import plait

PAGE = Path(__file__).resolve().parents[2] / "docs" / "admin.md"
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


def python_blocks() -> list[tuple[str, str, bool]]:
    text = PAGE.read_text()
    blocks = []
    for match in BLOCK.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip().rsplit("\n", 1)[-1]
        blocks.append((f"{PAGE.name}:{line}", match.group(1), before.strip() != SKIP))
    return blocks


def test_page_code_runs(tmp_path: Path) -> None:
    blocks = python_blocks()
    # Only what needs plait.auth/plait.csrf (other batteries) is skipped.
    skipped = [code for _, code, run in blocks if not run]
    assert len(skipped) == 1
    assert "from plait.auth import" in skipped[0]
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONDONTWRITEBYTECODE": "1",
        "HOME": str(tmp_path),
        "PYTHONPATH": str(Path(plait.__file__).resolve().parents[1]),
    }
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
    assert "ran 1 test(s)" in result.stdout
