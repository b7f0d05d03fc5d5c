"""examples/conduit under test: one app per database (SQLite, PostgreSQL) for the session, two
users registered once, and each test in a transaction rolled back at its end.

Tokens come from the public log-in endpoint (``POST /api/users/login``), as a RealWorld
client gets them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import argon2
import pytest

from _services import reset_postgres
from plait import App
from plait.db import Database
from plait.db.testing import RolledBack, rolled_back
from plait.testing import TestClient
from test_examples import load_example

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


@pytest.fixture
def fast_passwords() -> Iterator[None]:
    with cheap_argon2():
        yield


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def conduit(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Conduit]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('conduit') / 'conduit.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_server")
        reset_postgres(url)
    app, db, models = load_conduit(url)
    with TestClient(app) as client:
        with cheap_argon2():
            for name in ("ada", "bob"):
                register(client, name)
            tokens = {name: log_in(client, f"{name}@example.com") for name in ("ada", "bob")}
        yield Conduit(app, db, models, client, tokens)


@pytest.fixture
def api(conduit: Conduit, fast_passwords: None) -> Iterator[Conduit]:
    """The session's conduit, inside a transaction rolled back after the test."""
    with rolled_back(conduit.db) as tx:
        yield dataclasses.replace(conduit, tx=tx)
