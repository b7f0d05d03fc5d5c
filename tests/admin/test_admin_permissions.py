"""Permissions from plait.auth: every admin route, for every role, on SQLite and PostgreSQL.

A staff user may view, add, change or delete a model's rows only with the permission
``"<app_label>.<action>_<model>"``, given directly or through a group; superusers may do
everything; the index, the links and every route (bulk delete included) follow one rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

from plait import App, Request
from plait.admin import Admin
from plait.auth import Auth, Group, Permission, User, hash_password
from plait.csrf import CSRF, csrf_token
from plait.db import Database, Model, Session
from plait.db.testing import rolled_back
from plait.sessions import Sessions
from plait.testing import TestClient

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Note(Model):
    __tablename__ = "admin_permissions_note"  # unique in the suite's shared metadata

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(100))

    def __str__(self) -> str:
        return self.text


ROLES: dict[str, dict[str, Any]] = {
    "root": {"is_superuser": True, "direct": (), "group": ()},
    "viewer": {"direct": ("view",), "group": ()},
    "editor": {"direct": (), "group": ("add", "change")},  # change lets them view too
    "deleter": {"direct": ("view",), "group": ("delete",)},
    "nobody": {"direct": (), "group": ()},
}
ALLOWED = {
    "root": {"view", "add", "change", "delete"},
    "viewer": {"view"},
    "editor": {"view", "add", "change"},
    "deleter": {"view", "delete"},
    "nobody": set(),
}


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    app = App()
    Sessions(app, secret_key="admin-perms-" + "s0Q9" * 10)
    db = Database(app, db_url)
    Auth(app, db, secret_key="admin-perms-" + "a1Z8" * 10)
    CSRF(app)
    admin = Admin(app, db, login_limit=None)
    admin.register(Note, app_label="notes")

    @app.get("/token")
    def token(request: Request) -> dict[str, str]:
        return {"token": csrf_token(request)}

    @app.post("/setup")
    async def setup(session: Session) -> None:
        assert await admin.create_permissions(session) == 4
        assert await admin.create_permissions(session) == 0  # once
        perms = {p.codename: p for p in await session.scalars(select(Permission))}
        password = hash_password("pw")
        for name, role in ROLES.items():
            group = Group(name=f"{name}-group")
            group.permissions = [perms[f"{a}_note"] for a in role["group"]]
            user = User(
                username=name,
                password=password,
                is_staff=True,
                is_superuser=role.get("is_superuser", False),
            )
            user.groups = [group]
            user.user_permissions = [perms[f"{a}_note"] for a in role["direct"]]
            session.add(user)
        session.add(User(username="bob", password=password))
        for text in ("one", "two", "three"):
            session.add(Note(text=text))

    @app.get("/notes")
    async def notes(session: Session) -> list[str]:
        return [n.text for n in await session.scalars(select(Note).order_by(Note.id))]

    with rolled_back(db, create_all=True), TestClient(app, follow_redirects=False) as test_client:
        token = test_client.get("/token").json()["token"]
        assert test_client.post("/setup", headers={"x-csrf-token": token}).status_code < 300
        yield test_client


def log_in(client: TestClient, username: str) -> str:
    client.cookies.clear()
    page = client.get("/admin/login/").text
    token = TOKEN.search(page)
    assert token is not None
    form = {"username": username, "password": "pw", "csrf_token": token.group(1)}
    assert client.post("/admin/login/", data=form).status_code == 303
    return client.get("/token").json()["token"]


def test_every_route_follows_the_users_permissions(client: TestClient) -> None:
    for role, allowed in ALLOWED.items():
        token = log_in(client, role)
        ids = {text: i + 1 for i, text in enumerate(("one", "two", "three"))}
        note = ids["one"]
        index = client.get("/admin/")
        assert index.status_code == 200, role
        assert ('href="/admin/note/"' in index.text) == ("view" in allowed), role
        assert ('href="/admin/note/add/"' in index.text) == ("add" in allowed), role

        listing = client.get("/admin/note/")
        assert listing.status_code == (200 if "view" in allowed else 403), role
        if "view" in allowed:
            assert ('href="/admin/note/add/"' in listing.text) == ("add" in allowed), role
            assert ('name="_selected"' in listing.text) == ("delete" in allowed), role

        assert client.get("/admin/note/add/").status_code == (200 if "add" in allowed else 403)
        added = client.post("/admin/note/add/", data={"text": f"by {role}", "csrf_token": token})
        assert added.status_code == (303 if "add" in allowed else 403), role

        page = client.get(f"/admin/note/{note}/change/")
        assert page.status_code == (200 if "view" in allowed else 403), role
        if "view" in allowed:
            can_change = "change" in allowed
            assert ('name="text"' in page.text) == can_change, role
            assert ('name="_save"' in page.text) == can_change, role
            assert ("Save and add another" in page.text) == ("add" in allowed), role
            assert (f'href="/admin/note/{note}/delete/"' in page.text) == ("delete" in allowed)
        form = {"text": f"one ({role})", "csrf_token": token}
        changed = client.post(f"/admin/note/{note}/change/", data=form)
        assert changed.status_code == (303 if "change" in allowed else 403), role

        can_delete = "delete" in allowed
        assert client.get(f"/admin/note/{note}/delete/").status_code == (
            200 if can_delete else 403
        ), role
        bulk = {"_selected": [str(ids["three"])], "csrf_token": token}
        assert client.post("/admin/note/delete/", data=bulk).status_code == (
            200 if can_delete else 403
        ), role
        deleted = client.post(f"/admin/note/{ids['two']}/delete/", data={"csrf_token": token})
        assert deleted.status_code in ((303, 404) if can_delete else (403,)), role

    remaining = client.get("/notes").json()
    assert "two" not in remaining  # deleted by root (the first with delete)
    assert {"by root", "by editor"} <= set(remaining)
    assert "by viewer" not in remaining


def test_staff_without_permissions_sees_an_empty_index_and_non_staff_are_refused(
    client: TestClient,
) -> None:
    log_in(client, "nobody")
    index = client.get("/admin/").text
    assert "There is nothing you can manage here yet." in index
    client.cookies.clear()
    page = client.get("/admin/login/").text
    token = TOKEN.search(page)
    assert token is not None
    form = {"username": "bob", "password": "pw", "csrf_token": token.group(1)}
    assert client.post("/admin/login/", data=form).status_code == 200  # refused
    assert client.get("/admin/note/").status_code == 303
