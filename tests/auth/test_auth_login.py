"""Logging in and out through an app with Sessions + Auth, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import argon2
import pytest
import sqlalchemy as sa
from auth_services import SECRET, Credentials, make_app, new_user, seed
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from plait import App, Request
from plait.auth import Auth, CurrentUser, User, authenticate, login, needs_rehash
from plait.db import Database, Model, Session
from plait.sessions import CookieStore, Sessions
from plait.testing import TestClient

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def run_authenticate(db_url: str, username: str, password: str) -> User | None:
    async def main() -> User | None:
        db = Database(url=db_url)
        try:
            async with db.transaction() as session:
                return await authenticate(session, username, password)
        finally:
            await db.disconnect()

    return asyncio.run(main())


def stored_password(db_url: str, username: str) -> str:
    async def main() -> str:
        db = Database(url=db_url)
        try:
            async with db.session() as session:
                value = await session.scalar(
                    sa.select(User.password).where(User.username == username)
                )
                assert value is not None
                return value
        finally:
            await db.disconnect()

    return asyncio.run(main())


def log_in(client: TestClient, username: str, password: str = "correct horse") -> str:
    """Log in through the app; the new session cookie's value."""
    response = client.post("/login", json={"username": username, "password": password})
    assert response.json() == {"username": username}
    return str(client.cookies["plait_session"])


def test_authenticate(db_url: str) -> None:
    seed(db_url, new_user("ada"), new_user("bob", is_active=False), User(username="nopass"))
    user = run_authenticate(db_url, "ada", "correct horse")
    assert user is not None
    assert user.username == "ada"
    assert run_authenticate(db_url, "ada", "wrong horse") is None
    assert run_authenticate(db_url, "nobody", "correct horse") is None
    assert run_authenticate(db_url, "bob", "correct horse") is None  # inactive
    assert run_authenticate(db_url, "nopass", "") is None  # no usable password


def test_outdated_hashes_are_upgraded_on_login(db_url: str) -> None:
    weak = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    seed(db_url, User(username="ada", password=weak.hash("correct horse")))
    assert needs_rehash(stored_password(db_url, "ada"))
    assert run_authenticate(db_url, "ada", "correct horse") is not None
    upgraded = stored_password(db_url, "ada")
    assert not needs_rehash(upgraded)
    assert run_authenticate(db_url, "ada", "correct horse") is not None


def test_login_and_logout(db_url: str, tmp_path: Path) -> None:
    seed(db_url, new_user("ada"))
    app, _ = make_app(db_url, tmp_path)
    with TestClient(app) as client:
        assert client.get("/me").json() == {"user": None}
        wrong = client.post("/login", json={"username": "ada", "password": "nope"})
        assert wrong.status_code == 400
        assert client.post(
            "/login", json={"username": "ada", "password": "correct horse"}
        ).json() == {"username": "ada"}
        response = client.get("/me")
        assert response.json() == {"user": "ada"}
        assert response.headers["vary"] == "Cookie"
        logout = client.post("/logout")
        assert logout.json() == {"user": None}
        assert "Max-Age=0" in logout.headers["set-cookie"]
        assert client.get("/me").json() == {"user": None}
    assert run_authenticate(db_url, "ada", "correct horse") is not None


def test_login_sets_last_login(db_url: str, tmp_path: Path) -> None:
    seed(db_url, new_user("ada"))
    app, _ = make_app(db_url, tmp_path)
    with TestClient(app) as client:
        log_in(client, "ada")

    async def last_login() -> object:
        other = Database(url=db_url)
        try:
            async with other.session() as session:
                return await session.scalar(sa.select(User.last_login))
        finally:
            await other.disconnect()

    assert asyncio.run(last_login()) is not None


def test_session_fixation(db_url: str, tmp_path: Path) -> None:
    seed(db_url, new_user("ada"))
    app, _ = make_app(db_url, tmp_path)

    @app.post("/cart")
    async def cart(request: Request) -> str:
        request.session["cart"] = ["book"]
        return "ok"

    @app.get("/cart")
    async def show_cart(request: Request) -> list[str]:
        return list(request.session.get("cart", []))

    with TestClient(app) as client:
        anonymous = client.post("/cart").headers["set-cookie"].split(";")[0]
        response = client.post("/login", json={"username": "ada", "password": "correct horse"})
        logged_in = response.headers["set-cookie"].split(";")[0]
        assert logged_in != anonymous
        assert client.get("/me").json() == {"user": "ada"}
        assert client.get("/cart").json() == ["book"]  # an anonymous session's data is kept
        # The anonymous id no longer exists: whoever knew it is not logged in as ada.
        client.cookies.clear()
        assert client.get("/me", headers={"Cookie": anonymous}).json() == {"user": None}


def test_password_change_ends_other_sessions(db_url: str, tmp_path: Path) -> None:
    seed(db_url, new_user("ada"))
    app, _ = make_app(db_url, tmp_path)
    # One client (the app's database belongs to one event loop), two browsers' cookies.
    with TestClient(app) as client:
        phone = log_in(client, "ada")
        client.cookies.clear()
        laptop = log_in(client, "ada")
        assert phone != laptop
        assert client.post("/password", json={"password": "new battery"}).json() == {"ok": True}
        assert client.get("/me").json() == {"user": "ada"}  # the session that changed it
        client.cookies.clear()
        stale = client.get("/me", headers={"Cookie": f"plait_session={phone}"})
        assert stale.json() == {"user": None}
        assert "Max-Age=0" in stale.headers["set-cookie"]  # the stale session is flushed
    assert run_authenticate(db_url, "ada", "new battery") is not None
    assert run_authenticate(db_url, "ada", "correct horse") is None


def test_deactivated_users_are_anonymous(db_url: str, tmp_path: Path) -> None:
    seed(db_url, new_user("ada"))
    app, db = make_app(db_url, tmp_path)

    @app.post("/deactivate")
    async def deactivate() -> str:
        async with db.transaction() as session:
            await session.execute(sa.update(User).values(is_active=False))
        return "ok"

    with TestClient(app) as client:
        client.post("/login", json={"username": "ada", "password": "correct horse"})
        assert client.get("/me").json() == {"user": "ada"}
        client.post("/deactivate")
        assert client.get("/me").json() == {"user": None}
        assert client.get("/account").status_code == 401


def test_login_required(db_url: str, tmp_path: Path) -> None:
    seed(db_url, new_user("ada"))
    app, _ = make_app(db_url, tmp_path)
    with TestClient(app, follow_redirects=False) as client:
        browser = client.get("/account?tab=security&x=1", headers=BROWSER)
        assert browser.status_code == 303
        assert browser.headers["location"] == "/login?next=/account%3Ftab%3Dsecurity%26x%3D1"
        api = client.get("/account", headers={"Accept": "application/json"})
        assert api.status_code == 401
        assert api.headers["content-type"] == "application/problem+json"
        assert api.headers["www-authenticate"] == "Session"
        assert api.json()["status"] == 401
        assert client.get("/account").status_code == 401  # Accept: */* is not a browser
        client.post("/login", json={"username": "ada", "password": "correct horse"})
        assert client.get("/account", headers=BROWSER).json() == {"user": "ada"}


def test_staff_required(db_url: str, tmp_path: Path) -> None:
    seed(db_url, new_user("ada"), new_user("root", is_staff=True))
    app, _ = make_app(db_url, tmp_path)
    with TestClient(app, follow_redirects=False) as client:
        assert client.get("/staff").status_code == 401
        client.post("/login", json={"username": "ada", "password": "correct horse"})
        forbidden = client.get("/staff")
        assert forbidden.status_code == 403
        assert forbidden.headers["content-type"] == "application/problem+json"
        client.post("/login", json={"username": "root", "password": "correct horse"})
        assert client.get("/staff").json() == {"user": "root"}


def test_cookie_sessions_work_too(db_url: str, tmp_path: Path) -> None:
    seed(db_url, new_user("ada"))
    app, _ = make_app(db_url, tmp_path, store=CookieStore(SECRET))
    with TestClient(app) as client:
        client.post("/login", json={"username": "ada", "password": "correct horse"})
        assert client.get("/me").json() == {"user": "ada"}
        client.post("/logout")
        assert client.get("/me").json() == {"user": None}


def test_auth_needs_sessions(tmp_path: Path) -> None:
    app = App()
    db = Database(app, f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}")
    Auth(app, db, secret_key=SECRET)
    with pytest.raises(RuntimeError, match=r"add Sessions\(app\) \(from plait.sessions\)"):
        asyncio.run(app.startup())


def test_auth_before_sessions_still_runs_inside_them(db_url: str, tmp_path: Path) -> None:
    seed(db_url, new_user("ada"))
    app = App()
    db = Database(app, db_url)
    Auth(app, db, secret_key=SECRET)
    Sessions(app, secret_key=SECRET)

    @app.post("/login")
    async def do_login(request: Request, session: Session, data: Credentials) -> str:
        user = await authenticate(session, data.username, data.password)
        assert user is not None
        await login(request, user)
        return "ok"

    @app.get("/me")
    async def me(user: CurrentUser) -> dict[str, str | None]:
        return {"user": user.username if user else None}

    with TestClient(app) as client:
        client.post("/login", json={"username": "ada", "password": "correct horse"})
        assert client.get("/me").json() == {"user": "ada"}


class AuthNote(Model):
    """A row linked to a user, for the test below."""

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(50))
    author_id: Mapped[int] = mapped_column(ForeignKey("auth_user.id"))
    author: Mapped[User] = relationship(lazy="joined")


def test_the_user_joins_the_request_session(db_url: str, tmp_path: Path) -> None:
    """``AuthNote(author=user)`` works even when the handler's session loaded the user too."""
    app, _ = make_app(db_url, tmp_path)

    @app.post("/notes")
    async def add(user: CurrentUser, session: Session) -> dict[str, object]:
        assert user is not None
        loaded = await session.get(User, user.id)  # the same row, loaded again
        note = AuthNote(text="one", author=user)
        session.add(note)
        await session.flush()
        again = await session.scalar(sa.select(AuthNote).where(AuthNote.id == note.id))
        return {"same": loaded is user and again is not None and again.author is user}

    seed(db_url, new_user("ada"))
    with TestClient(app) as client:
        log_in(client, "ada")
        assert client.post("/notes").json() == {"same": True}


@pytest.mark.parametrize("store", ["cookie", "memory"])
def test_logout_ends_copies_of_the_session_cookie(db_url: str, tmp_path: Path, store: str) -> None:
    """Issue 12 finding 2: with the default cookie store, a copied ``plait_session`` cookie
    stayed logged in for 14 days after ``POST /logout``."""
    seed(db_url, new_user("ada"))
    app, _ = make_app(db_url, tmp_path, store=CookieStore(SECRET) if store == "cookie" else None)
    with TestClient(app) as client:
        stolen = log_in(client, "ada")
        assert client.post("/logout").json() == {"user": None}
        client.cookies.set("plait_session", stolen)  # the copy, replayed after the logout
        assert client.get("/me").json() == {"user": None}
        assert client.get("/account").status_code == 401
        # Logging in again works, and the copy stays dead.
        client.cookies.clear()
        log_in(client, "ada")
        assert client.get("/me").json() == {"user": "ada"}
        client.cookies.clear()
        client.cookies.set("plait_session", stolen)
        assert client.get("/me").json() == {"user": None}


def test_a_password_change_ends_the_other_sessions(db_url: str, tmp_path: Path) -> None:
    seed(db_url, new_user("ada"))
    app, _ = make_app(db_url, tmp_path, store=CookieStore(SECRET))
    with TestClient(app) as client:
        other = log_in(client, "ada")
        client.cookies.clear()
        log_in(client, "ada")
        assert client.post("/password", json={"password": "a new horse"}).json() == {"ok": True}
        assert client.get("/me").json() == {"user": "ada"}
        client.cookies.clear()
        client.cookies.set("plait_session", other)
        assert client.get("/me").json() == {"user": None}


@pytest.mark.parametrize("key", ["a", "change-me-to-a-long-random-string-of-48-characters"])
def test_auth_refuses_weak_keys(db_url: str, key: str) -> None:
    from plait import SettingsError

    app = App()
    Sessions(app, secret_key=SECRET)
    with pytest.raises(SettingsError, match="secret_key"):
        Auth(app, Database(app, db_url), secret_key=key)
