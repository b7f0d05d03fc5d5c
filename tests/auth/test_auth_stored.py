"""Refresh-token rotation with reuse detection, and opaque tokens (stored hashed, listed,
revoked, expiring, last used), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime
from hashlib import sha256
from pathlib import Path
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from auth_services import SECRET, Credentials, new_user, seed

from plait import App, HTTPException, Request
from plait.auth import (
    Auth,
    CurrentUser,
    LoginRequired,
    RefreshToken,
    Token,
    TokenPair,
    Tokens,
    authenticate,
    credentials_of,
)
from plait.db import Database, Session
from plait.sessions import MemoryStore, Sessions
from plait.testing import TestClient

pytestmark = pytest.mark.usefixtures("fast_hashing")

PAST = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)


class Refresh(msgspec.Struct):
    refresh_token: str


class NewToken(msgspec.Struct):
    name: str = ""
    scopes: list[str] | None = None
    days: int | None = None


def run_sql(db_url: str, statement: Any) -> list[Any]:
    async def main() -> list[Any]:
        db = Database(url=db_url)
        try:
            async with db.transaction() as session:
                result = await session.execute(statement)
                return list(result.all()) if isinstance(statement, sa.Select) else []
        finally:
            await db.disconnect()

    return asyncio.run(main())


def make_app(db_url: str, tmp_path: Path) -> tuple[App, Tokens]:
    app = App()
    Sessions(app, store=MemoryStore())
    db = Database(app, db_url, auto_migrate=True, migrations=tmp_path / "no-migrations")
    tokens = Auth(app, db, secret_key=SECRET).add_tokens()

    @app.post("/api/login")
    async def api_login(session: Session, data: Credentials) -> TokenPair:
        user = await authenticate(session, data.username, data.password)
        if user is None:
            raise HTTPException(400, "Wrong username or password")
        return await tokens.issue(session, user, scopes=["read"])

    @app.post("/api/refresh")
    async def api_refresh(data: Refresh) -> TokenPair:
        return await tokens.refresh(data.refresh_token)

    @app.get("/me")
    async def me(request: Request, user: CurrentUser) -> dict[str, Any]:
        credentials = credentials_of(request)
        return {
            "user": user.username if user else None,
            "method": credentials.method,
            "scopes": sorted(credentials.scopes) if credentials.scopes is not None else None,
        }

    @app.post("/api/tokens", status_code=201)
    async def new_token(user: LoginRequired, session: Session, data: NewToken) -> dict[str, Any]:
        lifetime = datetime.timedelta(days=data.days) if data.days is not None else None
        secret, row = await tokens.create_token(
            session, user, name=data.name, scopes=data.scopes, lifetime=lifetime
        )
        return {"token": secret, "id": row.id}

    @app.get("/api/tokens")
    async def list_tokens(user: LoginRequired, session: Session) -> list[dict[str, Any]]:
        return [
            {"id": t.id, "name": t.name, "used": t.last_used_at is not None}
            for t in await tokens.user_credentials(session, user, Token)
        ]

    @app.delete("/api/tokens/{token_id}", status_code=204)
    async def revoke_token(user: LoginRequired, session: Session, token_id: int) -> None:
        if not await tokens.revoke(session, user, Token, token_id):
            raise HTTPException(404, "No such token")

    @app.post("/api/logout-everywhere", status_code=204)
    async def everywhere(user: LoginRequired, session: Session) -> None:
        await tokens.revoke_all(session, user)

    @app.post("/password")
    async def change_password(user: LoginRequired, session: Session) -> str:
        session.add(user)
        user.set_password("a new password")
        return "changed"

    return app, tokens


def log_in(client: TestClient, username: str = "ada") -> dict[str, Any]:
    response = client.post("/api/login", json={"username": username, "password": "correct horse"})
    assert response.status_code == 200, response.text
    pair: dict[str, Any] = response.json()
    return pair


def who(client: TestClient, token: str) -> Any:
    return client.get("/me", headers={"Authorization": f"Bearer {token}"})


def refresh(client: TestClient, token: str) -> Any:
    return client.post("/api/refresh", json={"refresh_token": token})


def test_refresh_rotation_and_reuse_detection(db_url: str, tmp_path: Path) -> None:
    seed(db_url, new_user("ada"))
    app, _ = make_app(db_url, tmp_path)
    with TestClient(app) as client:
        first = log_in(client)
        assert first["token_type"] == "bearer"
        assert first["expires_in"] == 900
        assert first["scope"] == "read"
        other_login = log_in(client)  # another device: a family of its own
        second = refresh(client, first["refresh_token"]).json()
        assert second["refresh_token"] != first["refresh_token"]
        assert who(client, second["access_token"]).json() == {
            "user": "ada",
            "method": "jwt",
            "scopes": ["read"],  # the scopes carry over
        }
        third = refresh(client, second["refresh_token"]).json()
        # The thief replays the first refresh token: refused, and the family is revoked...
        stolen = refresh(client, first["refresh_token"])
        assert stolen.status_code == 401
        assert stolen.json()["detail"] == (
            "The refresh token was already used: every token of its login is revoked"
        )
        assert stolen.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
        # ...so the latest one (whoever holds it) no longer works either.
        latest = refresh(client, third["refresh_token"])
        assert latest.status_code == 401
        assert latest.json()["detail"] == "The refresh token was revoked"
        # The other login's family is untouched.
        assert refresh(client, other_login["refresh_token"]).status_code == 200
        assert refresh(client, "not-a-refresh-token").json()["detail"] == (
            "The refresh token is invalid"
        )
    families = run_sql(db_url, sa.select(RefreshToken.family, RefreshToken.revoked))
    assert len({family for family, _ in families}) == 2
    assert sum(revoked for _, revoked in families) == 3  # first, second and third


def test_refresh_tokens_expire_and_end_with_the_password(db_url: str, tmp_path: Path) -> None:
    seed(db_url, new_user("ada"))
    app, _ = make_app(db_url, tmp_path)
    with TestClient(app) as client:
        expiring, kept = log_in(client), log_in(client)
        run_sql(
            db_url,
            # The expiring login's token, found by its digest (what the table stores).
            sa.update(RefreshToken)
            .where(RefreshToken.digest == sha256(expiring["refresh_token"].encode()).hexdigest())
            .values(expires_at=PAST),
        )
        assert refresh(client, expiring["refresh_token"]).json()["detail"] == (
            "The refresh token has expired"
        )
        headers = {"Authorization": f"Bearer {kept['access_token']}"}
        assert client.post("/password", headers=headers).status_code == 200
        assert refresh(client, kept["refresh_token"]).json()["detail"] == (
            "The refresh token was revoked (password change or logout)"
        )


def test_opaque_tokens(db_url: str, tmp_path: Path) -> None:
    seed(db_url, new_user("ada"), new_user("bob"))
    app, _ = make_app(db_url, tmp_path)
    with TestClient(app) as client:
        ada = {"Authorization": f"Bearer {log_in(client)['access_token']}"}
        bob = {"Authorization": f"Bearer {log_in(client, 'bob')['access_token']}"}
        made = client.post("/api/tokens", json={"name": "CI"}, headers=ada).json()
        scoped = client.post(
            "/api/tokens", json={"name": "ro", "scopes": ["read"], "days": 1}, headers=ada
        ).json()
        assert "." not in made["token"]
        assert who(client, made["token"]).json() == {
            "user": "ada",
            "method": "token",
            "scopes": None,
        }
        assert who(client, scoped["token"]).json()["scopes"] == ["read"]
        listed = client.get("/api/tokens", headers=ada).json()
        assert listed == [
            {"id": scoped["id"], "name": "ro", "used": True},
            {"id": made["id"], "name": "CI", "used": True},
        ]
        assert client.get("/api/tokens", headers=bob).json() == []
        # Only a digest is stored: the database holds no secret.
        digests = [row[0] for row in run_sql(db_url, sa.select(Token.digest))]
        assert made["token"] not in digests
        assert len(digests[0]) == 64
        # Bob cannot revoke Ada's token; Ada can.
        assert client.delete(f"/api/tokens/{made['id']}", headers=bob).status_code == 404
        assert who(client, made["token"]).status_code == 200
        assert client.delete(f"/api/tokens/{made['id']}", headers=ada).status_code == 204
        revoked = who(client, made["token"])
        assert revoked.status_code == 401
        assert revoked.json()["detail"] == "The token is invalid or revoked"
        # Expired tokens are refused.
        run_sql(db_url, sa.update(Token).values(expires_at=PAST))
        assert who(client, scoped["token"]).json()["detail"] == "The token has expired"


def test_revoke_all(db_url: str, tmp_path: Path) -> None:
    seed(db_url, new_user("ada"))
    app, _ = make_app(db_url, tmp_path)
    with TestClient(app) as client:
        pair = log_in(client)
        headers = {"Authorization": f"Bearer {pair['access_token']}"}
        token = client.post("/api/tokens", json={}, headers=headers).json()["token"]
        assert client.post("/api/logout-everywhere", headers=headers).status_code == 204
        assert who(client, token).status_code == 401
        assert refresh(client, pair["refresh_token"]).status_code == 401
