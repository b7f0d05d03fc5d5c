"""examples/notes: migrated on first start, CRUD from the model, one hand-written endpoint."""

from __future__ import annotations

import importlib.util
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from plait import App
from plait.testing import TestClient

NOTES = Path(__file__).resolve().parents[2] / "examples" / "notes" / "app.py"


def load_notes(url: str, tmp_path: Path) -> App:
    """Import the example with its database at ``url`` (never the file in the repository)."""
    previous = os.environ.get("PLAIT_DATABASE_URL")
    os.environ["PLAIT_DATABASE_URL"] = url
    try:
        name = f"plait_example_notes_{uuid.uuid4().hex[:8]}"
        spec = importlib.util.spec_from_file_location(name, NOTES)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    finally:
        if previous is None:
            del os.environ["PLAIT_DATABASE_URL"]
        else:
            os.environ["PLAIT_DATABASE_URL"] = previous
    app: App = module.app
    return app


@pytest.fixture
def client(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(load_notes(db_url, tmp_path)) as test_client:
        yield test_client


def test_first_start_applies_the_migrations(client: TestClient) -> None:
    from plait.db import Database

    app = client.app
    assert isinstance(app, App)
    db = Database.of(app)
    assert db.migrations == NOTES.parent / "migrations"

    async def version(session: object) -> str:
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import AsyncSession

        assert isinstance(session, AsyncSession)
        return str(await session.scalar(text("SELECT version_num FROM alembic_version")))

    revision = db.run(version)
    assert any(revision in path.name for path in (db.migrations / "versions").glob("*.py"))


def test_notes_api(client: TestClient) -> None:
    assert client.get("/notes").json()["total"] == 0
    milk = client.post("/notes", json={"title": "Buy milk", "pinned": True})
    assert milk.status_code == 201
    assert milk.json()["body"] == ""
    client.post("/notes", json={"title": "Call Bob", "body": "about the milk"})
    client.post("/notes", json={"title": "Water plants"})
    assert client.get("/notes", params={"pinned": "true"}).json()["total"] == 1
    found = client.get("/search", params={"q": "milk"}).json()
    assert [n["title"] for n in found["items"]] == ["Buy milk", "Call Bob"]  # pinned first
    assert client.get("/search", params={"q": "100%"}).json()["total"] == 0  # % is literal
    assert client.get("/search", params={"q": ""}).status_code == 422
    note_id = milk.json()["id"]
    assert client.patch(f"/notes/{note_id}", json={"pinned": False}).json()["pinned"] is False
    assert client.delete(f"/notes/{note_id}").status_code == 204
    assert client.get(f"/notes/{note_id}").status_code == 404
    assert client.get("/docs").status_code == 200


def test_default_database_is_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PLAIT_DATABASE_URL", raising=False)
    spec = importlib.util.spec_from_file_location("plait_example_notes_settings", NOTES)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)  # importing connects to nothing
    assert module.settings.DATABASE_URL == "sqlite+aiosqlite:///./notes.sqlite3"
