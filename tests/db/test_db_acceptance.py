"""Acceptance: schemathesis, all checks, positive and negative data, finds nothing to report.

tests/db/apps/acceptance.py is a CRUD API written to a common spec as the docs teach
(hand-written handlers, ``paginate`` by limit/offset, a name of at least one character,
``Item.Key`` path ids) beside ``crud_router`` with PUT and limit/offset pages. It is served
by uvicorn and tested with the schemathesis command line, as a user would:
``st run --checks all --mode all``. The examples are bounded so the test takes seconds; the
deterministic coverage phase (every boundary and every kind of invalid value, a minute on a
busy machine) is left to a manual run: ``st run … --checks all --mode all -n 20``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("schemathesis")

from _servers import running, uvicorn_command

APPS = Path(__file__).parent / "apps"


def test_schemathesis_finds_no_failure(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAIT_DATABASE_URL", db_url)
    with running(
        {"api": uvicorn_command("acceptance:app")}, cwd=tmp_path, pythonpath=APPS
    ) as servers:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "run",
                f"{servers['api'].url}/openapi.json",
                "--checks",
                "all",
                "--mode",
                "all",
                "--phases",
                "examples,fuzzing,stateful",
                "--max-examples",
                "5",
                "--seed",
                "1",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=300,
            check=False,
        )
        log = servers["api"].log()
    report = result.stdout + result.stderr
    assert result.returncode == 0, report + log
    assert "No issues found" in report, report
    generated = re.search(r"(\d+) generated, (\d+) passed", report)
    assert generated is not None, report
    assert generated.group(1) == generated.group(2)
    assert int(generated.group(1)) >= 40, report  # every operation, valid and invalid input
    assert "Traceback" not in log, log
