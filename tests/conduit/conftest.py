"""examples/conduit under test: one app per database (SQLite, PostgreSQL) for the session, two
users registered once, and each test in a transaction rolled back at its end.

Tokens come from the public log-in endpoint (``POST /api/users/login``), as a RealWorld
client gets them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from _conduit_support import Conduit, cheap_argon2, load_conduit, log_in, register

from _services import reset_postgres
from plait.db.testing import rolled_back
from plait.testing import TestClient


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
