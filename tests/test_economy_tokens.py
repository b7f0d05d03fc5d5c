"""The "CRUD API with token login" code-economy apps (``bench/economy/*/tokens/``) run and do
the same thing: plait's, and FastAPI's built from its OAuth2 + JWT tutorial and its SQL
tutorial. Each is driven through the OAuth2 password grant, a refused and a tampered token,
``/users/me`` and create, list, get, PATCH and delete of posts with the token, against a fresh
SQLite file. ``bench/count_lines.py`` counts their lines for ``docs/comparison.md``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from _services import service_unavailable

ROOT = Path(__file__).resolve().parent.parent
ECONOMY = ROOT / "bench" / "economy"
_LOADS = itertools.count()
MakeUser = Callable[[str, str], None]


def import_file(path: Path, *, peer: bool) -> tuple[str, ModuleType]:
    name = f"economy_tokens_{path.parent.parent.name.replace('-', '_')}_{next(_LOADS)}"
    module_spec = importlib.util.spec_from_file_location(name, path)
    assert module_spec is not None
    assert module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    with warnings.catch_warnings():
        if peer:
            warnings.simplefilter("ignore", DeprecationWarning)
        module_spec.loader.exec_module(module)
    return name, module


@contextmanager
def plait_tokens(database: Path) -> Iterator[tuple[Any, MakeUser, str]]:
    from plait.auth import User, hash_password
    from plait.db import Database, Model
    from plait.testing import TestClient

    url = f"sqlite+aiosqlite:///{database}"
    environ = {"PLAIT_DATABASE_URL": url, "PLAIT_SECRET_KEY": "economy-" + "k" * 40}
    os.environ.update(environ)
    name = ""
    try:
        name, module = import_file(ECONOMY / "plait" / "tokens" / "app.py", peer=False)

        def make_user(username: str, password: str) -> None:
            async def create() -> None:
                db = Database(url=url)
                try:
                    async with db.transaction() as session:
                        session.add(User(username=username, password=hash_password(password)))
                finally:
                    await db.disconnect()

            asyncio.run(create())

        with TestClient(module.app) as client:
            yield client, make_user, ""
    finally:
        sys.modules.pop(name, None)
        for key in environ:
            del os.environ[key]
        if "post" in Model.metadata.tables:  # the crud apps define a `post` too
            Model.metadata.remove(Model.metadata.tables["post"])


@contextmanager
def fastapi_tokens(database: Path) -> Iterator[tuple[Any, MakeUser, str]]:
    from sqlmodel import Session, SQLModel

    from plait.testing import TestClient

    name, module = import_file(ECONOMY / "fastapi" / "tokens" / "main.py", peer=True)

    def make_user(username: str, password: str) -> None:
        with Session(module.engine) as session:
            hashed = module.get_password_hash(password)
            session.add(module.User(username=username, hashed_password=hashed))
            session.commit()

    try:
        with TestClient(module.app) as client:
            yield client, make_user, "/"
    finally:
        module.engine.dispose()
        sys.modules.pop(name, None)
        for model in (module.Post, module.User):  # SQLModel's metadata is global
            SQLModel.metadata.remove(model.__table__)


RUNNERS = {"plait": plait_tokens, "fastapi": fastapi_tokens}
NEEDS = {"plait": (), "fastapi": ("fastapi", "sqlmodel", "jwt", "pwdlib")}


def tokens_scenario(client: Any, make_user: MakeUser, slash: str) -> None:
    posts, me = f"/posts{slash}", f"/users/me{slash}"
    assert client.post(posts, json={"title": "t", "body": "b"}).status_code == 401
    make_user("ada", "correct horse battery")
    form = {"grant_type": "password", "username": "ada", "password": "wrong"}
    assert client.post("/token", data=form).status_code in (400, 401)  # RFC 6749 / FastAPI's
    granted = client.post("/token", data={**form, "password": "correct horse battery"})
    assert granted.status_code == 200, granted.text
    assert granted.json()["token_type"] == "bearer"
    token = granted.json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(me, headers=headers).json()["username"] == "ada"
    head, payload, signature = token.split(".")
    tampered = f"{head}.{payload}.{signature[:10]}{'A' if signature[10] != 'A' else 'B'}"
    tampered += signature[11:]
    refused = client.get(me, headers={"Authorization": f"Bearer {tampered}"})
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")
    created = client.post(posts, json={"title": "Hello", "body": "World"}, headers=headers)
    assert created.status_code == 201, created.text
    post_id = created.json()["id"]
    item = f"/posts/{post_id}"
    listed = client.get(posts, headers=headers).json()
    items = listed["items"] if isinstance(listed, dict) else listed
    assert [p["title"] for p in items] == ["Hello"]
    assert client.get(item, headers=headers).json()["body"] == "World"
    patched = client.patch(item, json={"published": True}, headers=headers)
    assert patched.json()["published"] is True
    assert client.get(item).status_code == 401
    assert client.delete(item, headers=headers).status_code == 204
    assert client.get(item, headers=headers).status_code == 404


@pytest.mark.parametrize("framework", sorted(RUNNERS))
def test_tokens_app(framework: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = [name for name in NEEDS[framework] if importlib.util.find_spec(name) is None]
    if missing:
        service_unavailable(framework, f"needs {', '.join(missing)}: pip install -e '.[dev]'")
    monkeypatch.chdir(tmp_path)  # FastAPI's app names a relative SQLite file
    database = tmp_path / "posts.sqlite3"
    with RUNNERS[framework](database) as (client, make_user, slash):
        tokens_scenario(client, make_user, slash)
    assert database.exists()


def test_every_tokens_app_is_driven() -> None:
    assert {path.parent.name for path in ECONOMY.glob("*/tokens")} == set(RUNNERS)
