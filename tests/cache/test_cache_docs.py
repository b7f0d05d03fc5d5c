"""docs/cache.md runs, and plait.cache's public surface is frozen."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import plait.cache
from _docs import DOCS, run_page

CACHE_API = {
    "DEFAULT_TTL",
    "Cache",
    "CacheBackend",
    "MemoryBackend",
    "RedisBackend",
    "default_backend",
}


def test_page_code_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLAIT_REDIS_URL", raising=False)
    ran = run_page(DOCS / "cache.md", directory=tmp_path, isolated=True)
    assert ran.tests >= 4


def test_public_names_are_frozen() -> None:
    assert set(plait.cache.__all__) == CACHE_API


@pytest.mark.parametrize("module", ["_backends", "_cache", "_page", "_redis"])
def test_private_modules_declare_all(module: str) -> None:
    loaded = importlib.import_module(f"plait.cache.{module}")
    assert all(hasattr(loaded, name) for name in loaded.__all__)
