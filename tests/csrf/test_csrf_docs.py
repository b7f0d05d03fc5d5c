"""docs/csrf.md runs: its ```python blocks in order in one fresh module, then its tests."""

from __future__ import annotations

from pathlib import Path

import plait.csrf
from _docs import DOCS, run_page


def test_page_code_runs(tmp_path: Path) -> None:
    ran = run_page(DOCS / "csrf.md", directory=tmp_path)
    assert ran.blocks >= 3
    assert ran.tests == 2


def test_public_surface() -> None:
    assert plait.csrf.__all__ == [
        "CSRF",
        "REASON_BAD_ORIGIN",
        "REASON_BAD_REFERER",
        "REASON_INSECURE_REFERER",
        "REASON_MALFORMED_REFERER",
        "REASON_NO_CSRF_COOKIE",
        "REASON_NO_REFERER",
        "REASON_TOKEN_INCORRECT",
        "REASON_TOKEN_MISSING",
        "CSRFMiddleware",
        "CSRFOptions",
        "FailureHandler",
        "csrf_exempt",
        "csrf_token",
        "rotate_token",
    ]
    for name in ("CSRF", "CSRFMiddleware", "csrf_exempt", "csrf_token", "rotate_token"):
        assert getattr(plait.csrf, name).__module__.startswith("plait.csrf._")
