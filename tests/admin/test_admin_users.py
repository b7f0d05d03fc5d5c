"""``UserAdmin`` and ``GroupAdmin``: set a password (never shown), promote to staff or
superuser, assign groups and permissions; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from plait import App, Request
from plait.admin import Admin, GroupAdmin, UserAdmin
from plait.auth import Auth, Group, User, authenticate, hash_password
from plait.csrf import CSRF, csrf_token
from plait.db import Database, Session
from plait.db.testing import rolled_back
from plait.sessions import Sessions
from plait.testing import TestClient

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    app = App()
    Sessions(app, secret_key="admin-users-" + "s0Q9" * 10)
    db = Database(app, db_url)
    Auth(app, db, secret_key="admin-users-" + "a1Z8" * 10)
    CSRF(app)
    admin = Admin(app, db, login_limit=None)
    admin.register(User, UserAdmin)
    admin.register(Group, GroupAdmin)

    @app.get("/token")
    def token(request: Request) -> dict[str, str]:
        return {"token": csrf_token(request)}

    @app.post("/setup")
    async def setup(session: Session) -> None:
        password = hash_password("pw")
        session.add(User(username="root", password=password, is_staff=True, is_superuser=True))
        session.add(User(username="carl", password=password))
        session.add(Group(name="editors"))

    @app.get("/check/{username}")
    async def check(username: str, password: str, session: Session) -> dict[str, object]:
        user = await session.scalar(
            select(User)
            .where(User.username == username)
            .options(selectinload(User.groups), selectinload(User.user_permissions))
        )
        assert user is not None
        return {
            "password_ok": await authenticate(session, username, password) is not None,
            "staff": user.is_staff,
            "superuser": user.is_superuser,
            "groups": [g.name for g in user.groups],
            "perms": sorted(f"{p.app_label}.{p.codename}" for p in user.user_permissions),
        }

    with rolled_back(db, create_all=True), TestClient(app, follow_redirects=False) as test_client:
        token = test_client.get("/token").json()["token"]
        assert test_client.post("/setup", headers={"x-csrf-token": token}).status_code < 300
        page = test_client.get("/admin/login/").text
        found = TOKEN.search(page)
        assert found is not None
        form = {"username": "root", "password": "pw", "csrf_token": found.group(1)}
        assert test_client.post("/admin/login/", data=form).status_code == 303
        yield test_client


def token_of(page: str) -> str:
    found = TOKEN.search(page)
    assert found is not None
    return found.group(1)


def user_id(client: TestClient, username: str) -> str:
    page = client.get("/admin/user/", params={"q": username}).text
    found = re.search(rf'href="/admin/user/(\d+)/change/">{username}<', page)
    assert found is not None, page
    return found.group(1)


def test_adding_a_user_asks_for_the_password_twice(client: TestClient) -> None:
    page = client.get("/admin/user/add/").text
    assert page.count('autocomplete="new-password"') == 2
    token = token_of(page)
    form = {"username": "dora", "email": "", "is_active": "true", "csrf_token": token}
    short = client.post("/admin/user/add/", data={**form, "password1": "short", "password2": "x"})
    assert "This password is too short" in short.text
    assert 'value="short"' not in short.text  # never sent back
    other = {"password1": "long enough", "password2": "long enouhg"}
    assert "didn&#39;t match" in client.post("/admin/user/add/", data={**form, **other}).text
    same = {"password1": "long enough", "password2": "long enough"}
    assert client.post("/admin/user/add/", data={**form, **same}).status_code == 303
    assert client.get("/check/dora", params={"password": "long enough"}).json()["password_ok"]


def test_setting_a_password_never_shows_the_hash(client: TestClient) -> None:
    carl = user_id(client, "carl")
    change = client.get(f"/admin/user/{carl}/change/").text
    assert "argon2" not in change
    assert f'href="/admin/user/{carl}/password/"' in change
    page = client.get(f"/admin/user/{carl}/password/")
    assert page.status_code == 200
    assert "argon2" not in page.text
    assert page.text.count('type="password"') == 2
    token = token_of(page.text)
    mismatch = {"password1": "new password", "password2": "new passwort", "csrf_token": token}
    assert "didn&#39;t match" in client.post(f"/admin/user/{carl}/password/", data=mismatch).text
    form = {**mismatch, "password2": "new password"}
    done = client.post(f"/admin/user/{carl}/password/", data=form)
    assert done.status_code == 303
    assert done.headers["location"] == f"/admin/user/{carl}/change/"
    assert "Password changed successfully." in client.get(done.headers["location"]).text
    assert client.get("/check/carl", params={"password": "new password"}).json()["password_ok"]
    history = client.get(f"/admin/user/{carl}/history/").text
    assert "<strong>Password</strong>: (hidden) → (hidden)" in history
    assert "argon2" not in history
    assert "new password" not in history


def test_promoting_a_user_and_assigning_groups_and_permissions(client: TestClient) -> None:
    carl = user_id(client, "carl")
    page = client.get(f"/admin/user/{carl}/change/").text
    assert 'type="checkbox" value="on" name="is_staff"' in page
    assert 'type="checkbox" value="on" name="is_superuser"' in page
    assert '<select name="groups" id="id_groups" multiple' in page
    # Every registered model's permissions are offered (created when first shown).
    options = dict(re.findall(r'<option value="(\d+)"[^>]*>auth \| ([^<]+)</option>', page))
    assert "Can change user" in options.values()
    editors = re.search(r'<option value="(\d+)">editors</option>', page)
    assert editors is not None
    change_user = next(k for k, v in options.items() if v == "Can change user")
    form = {
        "username": "carl",
        "email": "carl@example.org",
        "is_active": "true",
        "is_staff": "true",
        "groups": editors.group(1),
        "user_permissions": [change_user],
        "csrf_token": token_of(page),
    }
    saved = client.post(f"/admin/user/{carl}/change/", data=form)
    assert saved.status_code == 303, re.findall(r'class="error"[^>]*>([^<]+)', saved.text)
    checked = client.get("/check/carl", params={"password": "pw"}).json()
    assert checked == {
        "password_ok": True,  # the password is kept
        "staff": True,
        "superuser": False,
        "groups": ["editors"],
        "perms": ["auth.change_user"],
    }
    # Untouched, the form keeps everything; an unknown group is refused.
    again = client.get(f"/admin/user/{carl}/change/").text
    assert re.search(rf'<option value="{editors.group(1)}" selected>editors</option>', again)
    bad = {**form, "groups": "9999", "csrf_token": token_of(again)}
    assert "Select a valid choice" in client.post(f"/admin/user/{carl}/change/", data=bad).text
    form = {**form, "groups": [], "user_permissions": [], "csrf_token": token_of(again)}
    del form["is_staff"]
    assert client.post(f"/admin/user/{carl}/change/", data=form).status_code == 303
    checked = client.get("/check/carl", params={"password": "pw"}).json()
    assert checked["staff"] is False
    assert checked["groups"] == []
    assert checked["perms"] == []


def test_groups_get_their_permissions_in_the_admin(client: TestClient) -> None:
    page = client.get("/admin/group/add/").text
    options = dict(re.findall(r'<option value="(\d+)"[^>]*>([^<]+)</option>', page))
    view_group = next(k for k, v in options.items() if v == "auth | Can view group")
    form = {"name": "auditors", "permissions": [view_group], "csrf_token": token_of(page)}
    assert client.post("/admin/group/add/", data=form).status_code == 303
    listing = client.get("/admin/group/").text
    assert ">auditors</a>" in listing
