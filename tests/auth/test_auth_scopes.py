"""API keys (prefix + secret, stored hashed, scoped), ``require_scopes`` and ``require_perm``,
with their 401 and 403 problems, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import msgspec
import pytest
import sqlalchemy as sa
from auth_services import SECRET, Credentials, new_user, seed

from plait import App, Depends, HTTPException, Request
from plait.auth import (
    APIKey,
    Auth,
    Group,
    LoginRequired,
    Permission,
    Tokens,
    User,
    authenticate,
    credentials_of,
    login,
    require_perm,
    require_scopes,
)
from plait.db import Database, Session
from plait.sessions import MemoryStore, Sessions
from plait.testing import TestClient

pytestmark = pytest.mark.usefixtures("fast_hashing")

Writer = Annotated[User, Depends(require_scopes("articles:write"))]
Publisher = Annotated[User, Depends(require_perm("blog.publish"))]


class NewKey(msgspec.Struct):
    name: str
    scopes: list[str]


def make_app(db_url: str, tmp_path: Path) -> tuple[App, Tokens]:
    app = App()
    Sessions(app, store=MemoryStore())
    db = Database(app, db_url, auto_migrate=True, migrations=tmp_path / "no-migrations")
    tokens = Auth(app, db, secret_key=SECRET).add_tokens()

    @app.post("/login")
    async def cookie_login(request: Request, session: Session, data: Credentials) -> str:
        user = await authenticate(session, data.username, data.password)
        if user is None:
            raise HTTPException(400)
        await login(request, user)
        return "ok"

    @app.post("/api/keys", status_code=201)
    async def new_key(user: LoginRequired, session: Session, data: NewKey) -> dict[str, Any]:
        key, row = await tokens.create_api_key(session, user, name=data.name, scopes=data.scopes)
        return {"key": key, "id": row.id, "prefix": row.prefix}

    @app.get("/api/keys")
    async def keys(user: LoginRequired, session: Session) -> list[dict[str, Any]]:
        rows = await tokens.user_credentials(session, user, APIKey)
        return [{"prefix": r.prefix, "name": r.name, "scopes": r.scopes} for r in rows]

    @app.delete("/api/keys/{key_id}", status_code=204)
    async def revoke(user: LoginRequired, session: Session, key_id: int) -> None:
        if not await tokens.revoke(session, user, APIKey, key_id):
            raise HTTPException(404)

    @app.get("/articles")
    async def articles(request: Request, user: LoginRequired) -> dict[str, str]:
        return {"user": user.username, "via": credentials_of(request).method}

    @app.post("/articles")
    async def write(user: Writer) -> dict[str, str]:
        return {"written by": user.username}

    @app.post("/publish")
    async def publish(user: Publisher) -> dict[str, str]:
        return {"published by": user.username}

    @app.post("/token")
    async def scoped_token(user: LoginRequired, data: NewKey) -> str:
        return tokens.access_token(user, scopes=data.scopes)

    return app, tokens


def cookie_login(client: TestClient, username: str) -> None:
    response = client.post("/login", json={"username": username, "password": "correct horse"})
    assert response.status_code == 200


def test_api_keys_with_scopes(db_url: str, tmp_path: Path) -> None:
    seed(db_url, new_user("ada"), new_user("bob"))
    app, _ = make_app(db_url, tmp_path)
    with TestClient(app) as client, TestClient(app) as bobs:
        cookie_login(client, "ada")
        cookie_login(bobs, "bob")
        writer = client.post("/api/keys", json={"name": "CI", "scopes": ["articles:write"]}).json()
        reader = client.post("/api/keys", json={"name": "ro", "scopes": []}).json()
        prefix, _, secret = writer["key"].partition(".")
        assert prefix == writer["prefix"]
        assert len(secret) >= 43
        assert client.get("/api/keys").json() == [
            {"prefix": reader["prefix"], "name": "ro", "scopes": ""},
            {"prefix": prefix, "name": "CI", "scopes": "articles:write"},
        ]
    with TestClient(app) as machine:  # no cookie: the key alone
        header = {"X-API-Key": writer["key"]}
        assert machine.get("/articles", headers=header).json() == {"user": "ada", "via": "api_key"}
        assert machine.post("/articles", headers=header).json() == {"written by": "ada"}
        # The key may also come as the Authorization header's token.
        bearer = {"Authorization": f"Bearer {writer['key']}"}
        assert machine.post("/articles", headers=bearer).status_code == 200
        # A key without the scope: 403, with RFC 6750's insufficient_scope.
        refused = machine.post("/articles", headers={"X-API-Key": reader["key"]})
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["detail"] == "The credential lacks the scope(s): articles:write"
        assert refused.json()["required_scopes"] == ["articles:write"]
        assert refused.headers["www-authenticate"] == (
            'Bearer error="insufficient_scope", scope="articles:write"'
        )
        # A wrong secret with a real prefix, or a malformed key: 401.
        forged = {"X-API-Key": f"{prefix}.{'x' * 43}"}
        assert machine.get("/articles", headers=forged).json()["detail"] == (
            "The API key is invalid or revoked"
        )
        assert machine.get("/articles", headers={"X-API-Key": "nodot"}).status_code == 401
    # Only the digest is stored.
    stored = asyncio.run(_column(db_url, APIKey.digest))
    assert secret not in stored
    # Bob cannot revoke Ada's key; Ada can, and it stops working.
    with TestClient(app) as client, TestClient(app) as bobs:
        cookie_login(bobs, "bob")
        assert bobs.delete(f"/api/keys/{writer['id']}").status_code == 404
        cookie_login(client, "ada")
        assert client.delete(f"/api/keys/{writer['id']}").status_code == 204
        gone = client.get("/articles", headers={"X-API-Key": writer["key"]})
        assert gone.status_code == 401


async def _column(db_url: str, column: Any) -> list[Any]:
    db = Database(url=db_url)
    try:
        async with db.session() as session:
            return list(await session.scalars(sa.select(column)))
    finally:
        await db.disconnect()


def test_require_scopes_with_tokens_and_sessions(db_url: str, tmp_path: Path) -> None:
    seed(db_url, new_user("ada"))
    app, _ = make_app(db_url, tmp_path)
    with TestClient(app) as client:
        assert client.post("/articles").status_code == 401  # nobody logged in
        cookie_login(client, "ada")
        # A session login may do all its user may.
        assert client.post("/articles").json() == {"written by": "ada"}
        read_only = client.post("/token", json={"name": "", "scopes": ["articles:read"]}).text
        full = client.post(
            "/token", json={"name": "", "scopes": ["articles:read", "articles:write"]}
        ).text
    with TestClient(app) as api:
        assert api.post("/articles", headers={"Authorization": f"Bearer {full}"}).status_code == 200
        refused = api.post("/articles", headers={"Authorization": f"Bearer {read_only}"})
        assert refused.status_code == 403


def test_require_perm(db_url: str, tmp_path: Path) -> None:
    publish = Permission(app_label="blog", codename="publish", name="Can publish")
    seed(
        db_url,
        new_user("ada", groups=[Group(name="editors", permissions=[publish])]),
        new_user("bob"),
        new_user("root", is_superuser=True),
        new_user("eve", user_permissions=[publish], is_active=True),
    )
    app, _ = make_app(db_url, tmp_path)
    with TestClient(app) as anonymous:
        refused = anonymous.post("/publish")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
    for username, status in (("ada", 200), ("eve", 200), ("root", 200), ("bob", 403)):
        with TestClient(app) as client:
            cookie_login(client, username)
            response = client.post("/publish")
            assert response.status_code == status, username
            if status == 403:
                assert response.json()["detail"] == (
                    "You do not have permission to perform this action."
                )
                assert response.headers["content-type"] == "application/problem+json"


def test_bad_requirements_are_refused() -> None:
    with pytest.raises(ValueError, match="scope names"):
        require_scopes()
    with pytest.raises(ValueError, match="scope names"):
        require_scopes("a b")
    with pytest.raises(ValueError, match=r"app_label\.codename"):
        require_perm("publish")
