"""Shared fixtures. Tests build their small apps inline; only cross-cutting helpers live here.

Every battery's database tests run on SQLite and on PostgreSQL through ``db_url``. PostgreSQL
is the server at 127.0.0.1:5432 (database ``test``, user ``postgres``; override with
``PLAIT_TEST_POSTGRES_URL``); the test session works in a database of its own, created on
first use and dropped at the end. When the server can't be reached its tests are skipped,
with the reason, unless ``PLAIT_REQUIRE_SERVICES=1`` (CI) makes that a failure (see
``_services.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from _services import new_postgres_database, reset_postgres
from plait._convertors import CONVERTORS


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the README quickstart's virtualenv now, when its tests are selected: building it
    (mostly pip) then overlaps the tests that run before them (about 35 s of the suite).
    Not under pytest-xdist: every worker collects every test, and the workers run in
    parallel anyway."""
    if hasattr(session.config, "workerinput"):
        return
    for item in session.items:
        if item.path.name == "test_quickstart.py" and isinstance(item, pytest.Function):
            item.module.start_early()
            return


def pytest_sessionfinish(session: pytest.Session) -> None:
    for item in session.items:
        if item.path.name == "test_quickstart.py" and isinstance(item, pytest.Function):
            item.module.stop_early()
            return


@pytest.fixture
def restore_convertors() -> Iterator[None]:
    """Undo ``register_convertor`` calls: the registry is global to the process."""
    saved = dict(CONVERTORS)
    yield
    CONVERTORS.clear()
    CONVERTORS.update(saved)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A database of this test session's own on the PostgreSQL server, dropped at the end."""
    with new_postgres_database("plait_test") as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a fresh SQLite file, or the session's PostgreSQL database reset."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"
    url: str = request.getfixturevalue("postgres_server")
    reset_postgres(url)
    return url
