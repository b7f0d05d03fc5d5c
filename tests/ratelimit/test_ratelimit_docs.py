"""docs/ratelimit.md runs, and plait.ratelimit's public surface is frozen."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import plait.ratelimit
from _docs import DOCS, run_page

RATELIMIT_API = {
    "Decision",
    "KeyFunc",
    "RateLimit",
    "RateLimitMiddleware",
    "RateLimitOptions",
    "RateLimiter",
    "Strategy",
    "client_ip",
}


def test_page_code_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLAIT_REDIS_URL", raising=False)
    ran = run_page(DOCS / "ratelimit.md", directory=tmp_path, isolated=True)
    assert ran.tests >= 3


def test_public_names_are_frozen() -> None:
    assert set(plait.ratelimit.__all__) == RATELIMIT_API


@pytest.mark.parametrize("module", ["_keys", "_limiter", "_middleware"])
def test_private_modules_declare_all(module: str) -> None:
    loaded = importlib.import_module(f"plait.ratelimit.{module}")
    assert all(hasattr(loaded, name) for name in loaded.__all__)
