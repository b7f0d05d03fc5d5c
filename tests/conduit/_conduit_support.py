"""Helpers for the conduit tests (a module of its own: test modules never import conftest,
whose name several test directories share)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import argon2
import pytest

from plait import App
from plait.db import Database
from plait.db.testing import RolledBack
from plait.testing import TestClient
from test_examples import load_example

__all__ = ["CONDUIT", "PASSWORD", "Conduit", "cheap_argon2", "load_conduit", "log_in", "register"]

CONDUIT = Path(__file__).resolve().parents[2] / "examples" / "conduit"
PASSWORD = "correct horse battery"


@dataclass
class Conduit:
    """The running example: its app, database, a client, and the users made for the module."""

    app: App
    db: Database
    models: ModuleType
    client: TestClient
    tokens: dict[str, str]
    tx: RolledBack | None = None

    def auth(self, username: str) -> dict[str, str]:
        """The ``Authorization`` header of a user registered for the module."""
        return {"Authorization": f"Token {self.tokens[username]}"}


def register(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, Any]:
    user = {"username": username, "email": f"{username}@example.com", "password": password}
    response = client.post("/api/users", json={"user": user})
    assert response.status_code == 201, response.text
    registered: dict[str, Any] = response.json()["user"]
    return registered


def log_in(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """A token, obtained the way a RealWorld client obtains one."""
    response = client.post(
        "/api/users/login", json={"user": {"email": email, "password": password}}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["user"]["token"]
    return token


def load_conduit(url: str) -> tuple[App, Database, ModuleType]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PLAIT_DATABASE_URL", url)
        patch.syspath_prepend(str(CONDUIT))
        before = set(sys.modules)
        module = load_example(CONDUIT / "app.py")
        models = sys.modules["models"]
        assert Path(models.__file__ or "").parent == CONDUIT
        for name in set(sys.modules) - before:  # the example's own modules: fresh next time
            if (getattr(sys.modules[name], "__file__", None) or "").startswith(str(CONDUIT)):
                del sys.modules[name]
    return module.app, module.db, models


@contextlib.contextmanager
def cheap_argon2() -> Iterator[None]:
    """Cheap Argon2 parameters while the block runs (Django's tests use a fast hasher the same
    way): the defaults take most of a second per sign-up on a loaded machine. The hash that
    logins of unknown users check against is made first, with the real parameters, so that
    nothing cheap outlives the block (plait.auth keeps that one for the process)."""
    from plait.auth import _passwords

    _passwords.dummy_hash()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_passwords, "hasher", argon2.PasswordHasher(1, 1024, 1))
        yield
