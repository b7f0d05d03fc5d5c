"""Helpers for the auth tests: seeding users outside the app, and a small app with sessions and
auth (the databases, ``db_url``, are tests/conftest.py's)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import msgspec

from plait import App, HTTPException, Request
from plait.auth import (
    Auth,
    CurrentUser,
    LoginRequired,
    StaffRequired,
    User,
    authenticate,
    login,
    logout,
)
from plait.db import Database, Model, Session
from plait.sessions import MemoryStore, Sessions

__all__ = ["SECRET", "make_app", "new_user", "seed"]

SECRET = "a-test-secret-key-that-is-long-enough-for-plait"


def seed(db_url: str, *objects: Model) -> None:
    """Create the tables and add ``objects``, with a database of the test's own."""

    async def main() -> None:
        db = Database(url=db_url)
        try:
            await db.create_all()
            async with db.transaction() as session:
                session.add_all(objects)
        finally:
            await db.disconnect()

    asyncio.run(main())


class Credentials(msgspec.Struct):
    username: str
    password: str


class NewPassword(msgspec.Struct):
    password: str


def make_app(db_url: str, tmp_path: Path, *, store: Any = None) -> tuple[App, Database]:
    """Sessions (in memory) + a database + Auth, and routes to log in and out."""
    app = App()
    Sessions(app, store=store if store is not None else MemoryStore())
    db = Database(app, db_url, auto_migrate=True, migrations=tmp_path / "no-migrations")
    Auth(app, db, secret_key=SECRET)

    @app.post("/login")
    async def do_login(request: Request, session: Session, data: Credentials) -> dict[str, Any]:
        user = await authenticate(session, data.username, data.password)
        if user is None:
            raise HTTPException(400, "Wrong username or password")
        await login(request, user)
        return {"username": user.username}

    @app.post("/logout")
    async def do_logout(request: Request) -> dict[str, Any]:
        await logout(request)
        return {"user": request.user}

    @app.get("/me")
    async def me(user: CurrentUser) -> dict[str, Any]:
        return {"user": user.username if user else None}

    @app.get("/account")
    async def account(user: LoginRequired) -> dict[str, Any]:
        return {"user": user.username}

    @app.get("/staff")
    async def staff(user: StaffRequired) -> dict[str, Any]:
        return {"user": user.username}

    @app.post("/password")
    async def change_password(
        request: Request, user: LoginRequired, session: Session, data: NewPassword
    ) -> dict[str, Any]:
        session.add(user)
        user.set_password(data.password)
        await login(request, user)  # this session stays logged in; the others end
        return {"ok": True}

    return app, db


def new_user(username: str, password: str = "correct horse", **fields: Any) -> User:
    user = User(username=username, email=f"{username}@example.com", **fields)
    user.set_password(password)
    return user
