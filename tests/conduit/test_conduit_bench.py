"""The RealWorld bench's apps (bench/realworld/) give the answers the bench relies on: each is
seeded and checked through its own API by the runner's own ``seed`` and ``check``, on SQLite
and in-process (Django in a subprocess: its settings are once per process)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plait.testing import TestClient

BENCH = Path(__file__).resolve().parents[2] / "bench" / "realworld"


@pytest.fixture
def realworld(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    """bench/realworld/run.py as a module, with its directory importable."""
    monkeypatch.syspath_prepend(str(BENCH))
    monkeypatch.syspath_prepend(str(BENCH.parent))
    monkeypatch.chdir(tmp_path)
    before = set(sys.modules)
    spec = importlib.util.spec_from_file_location("realworld_run", BENCH / "run.py")
    assert spec is not None
    assert spec.loader is not None
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    yield run
    for name in set(sys.modules) - before:
        if (getattr(sys.modules[name], "__file__", None) or "").startswith(str(BENCH.parent)):
            del sys.modules[name]


def client_caller(client: Any) -> Any:
    def call(method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        headers = {"Authorization": f"Token {token}"} if token else {}
        response = client.request(method, path, json=body, headers=headers)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json()

    return call


def test_the_plait_app_answers_as_the_bench_expects(
    realworld: Any, tmp_path: Path, fast_passwords: None
) -> None:
    from _conduit_support import load_conduit

    app, _, _ = load_conduit(f"sqlite+aiosqlite:///{tmp_path / 'plait.sqlite3'}")
    with TestClient(app) as client:
        call = client_caller(client)
        realworld.check(call, realworld.seed(call)["bob"])


def test_the_fastapi_app_answers_as_the_bench_expects(
    realworld: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("fastapi")
    monkeypatch.setenv("RW_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'fastapi.sqlite3'}")
    import fastapi_app
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    fast = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    monkeypatch.setattr(fastapi_app, "password_hash", fast)  # as the conduit tests do
    with TestClient(fastapi_app.app) as client:
        call = client_caller(client)
        realworld.check(call, realworld.seed(call)["bob"])


def test_the_django_app_answers_as_the_bench_expects(tmp_path: Path) -> None:
    pytest.importorskip("django")
    env = {**os.environ, "RW_SQLITE": str(tmp_path / "django.sqlite3"), "RW_FAST_HASHER": "1"}
    done = subprocess.run(
        [sys.executable, str(BENCH / "django_app.py"), "self-check"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
