"""The admin with the real batteries around it: plait.sessions, plait.auth and plait.csrf.

These run once those batteries are in the tree (they are built on other branches); until
then the module is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import pytest

from plait import App, Form, HTTPException, RedirectResponse, Request, Response
from plait.admin import Admin
from plait.db import Database, Session
from plait.db.testing import rolled_back
from plait.testing import TestClient

pytest.importorskip("plait.sessions")
pytest.importorskip("plait.auth")
pytest.importorskip("plait.csrf")

from plait.auth import Auth, User, authenticate, hash_password, login
from plait.csrf import CSRF, csrf_token
from plait.sessions import Sessions

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app = App()
    Sessions(app, secret_key="admin-batteries-" + "s0Q9" * 10)
    db = Database(app, f"sqlite+aiosqlite:///{tmp_path / 'admin.sqlite3'}")
    Auth(app, db, secret_key="admin-batteries-" + "a1Z8" * 10)
    CSRF(app)
    admin = Admin(app, db)  # csrf_required: the real check
    admin.register(User, list_display=("username", "email", "is_staff"))

    @app.get("/token")
    def token(request: Request) -> dict[str, str]:
        return {"token": csrf_token(request)}

    @app.post("/login")
    async def do_login(
        request: Request,
        session: Session,
        username: Annotated[str, Form()],
        password: Annotated[str, Form()],
    ) -> Response:
        user = await authenticate(session, username, password)
        if user is None:
            raise HTTPException(400, "Wrong username or password")
        await login(request, user)
        return RedirectResponse(request.query_params.get("next", "/"), status_code=303)

    @app.post("/users")
    async def users(session: Session) -> None:
        for name, staff in (("ada", True), ("bob", False)):
            session.add(
                User(username=name, email=f"{name}@example.org", password=hash_password("pw"))
            )
            if staff:
                session.add(
                    User(
                        username=f"{name}-staff",
                        email=f"{name}@example.com",
                        password=hash_password("pw"),
                        is_staff=True,
                        is_superuser=True,  # a plain staff user needs permissions
                    )
                )

    with rolled_back(db, create_all=True), TestClient(app, follow_redirects=False) as test_client:
        token = test_client.get("/token").json()["token"]
        assert test_client.post("/users", headers={"x-csrf-token": token}).status_code < 300
        test_client.cookies.clear()
        yield test_client


def sign_in(client: TestClient, username: str, next_url: str = "/admin/") -> None:
    client.cookies.clear()
    token = client.get("/token").json()["token"]
    form = {"username": username, "password": "pw", "csrf_token": token}
    response = client.post("/login", params={"next": next_url}, data=form)
    assert response.status_code == 303, response.text


def test_staff_sign_in_and_edit_through_the_real_batteries(client: TestClient) -> None:
    assert client.get("/admin/").headers["location"] == "/admin/login/?next=/admin/"
    sign_in(client, "bob")
    assert client.get("/admin/").status_code == 403
    sign_in(client, "ada-staff")
    index = client.get("/admin/")
    assert index.status_code == 200
    assert 'href="/admin/user/"' in index.text
    page = client.get("/admin/user/1/change/").text
    token = TOKEN.search(page)
    assert token is not None
    form = {"username": "ada2", "email": "ada@example.org", "is_active": "true"}
    # The CSRF middleware refuses a form without its token...
    assert client.post("/admin/user/1/change/", data=form).status_code == 403
    # ...and lets the admin's own form through, whose message comes back by the session.
    response = client.post("/admin/user/1/change/", data={**form, "csrf_token": token.group(1)})
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/user/"
    listing = client.get("/admin/user/").text
    assert "was changed successfully" in listing
    assert ">ada2</a>" in listing
    assert "was changed successfully" not in client.get("/admin/user/").text
