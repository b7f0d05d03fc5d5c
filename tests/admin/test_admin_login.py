"""The admin's own log-in and log-out pages, with plait.auth, plait.sessions and plait.csrf.

Browser findings 3 and 4: there was no way to log out, the non-staff "Forbidden" page linked
back to itself, and the admin's log-in was the site's unstyled page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from plait import App, Request, Response
from plait.admin import Admin
from plait.auth import Auth, User, hash_password
from plait.csrf import CSRF, csrf_token
from plait.db import Database, Session
from plait.db.testing import rolled_back
from plait.sessions import Sessions
from plait.templates import Templates
from plait.testing import TestClient

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def make(tmp_path: Path, *, pages: bool, **options: str) -> tuple[App, Database]:
    app = App()
    Sessions(app, secret_key="admin-login-" + "s0Q9" * 10)
    db = Database(app, f"sqlite+aiosqlite:///{tmp_path / 'admin.sqlite3'}")
    auth = Auth(app, db, secret_key="admin-login-" + "a1Z8" * 10)
    CSRF(app)
    if pages:
        Templates(app, tmp_path)
        auth.add_pages(login_limit=None, signup_limit=None)
    admin = Admin(app, db, **options)
    admin.register(User, list_display=("username", "email"))

    @app.get("/token")
    def token(request: Request) -> dict[str, str]:
        return {"token": csrf_token(request)}

    @app.post("/users")
    async def users(session: Session) -> None:
        for name, staff in (("ada", True), ("bob", False)):
            session.add(
                User(
                    username=name,
                    password=hash_password("pw"),
                    is_staff=staff,
                    is_superuser=staff,
                )
            )

    return app, db


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app, db = make(tmp_path, pages=False)
    with rolled_back(db, create_all=True), TestClient(app, follow_redirects=False) as test_client:
        token = test_client.get("/token").json()["token"]
        assert test_client.post("/users", headers={"x-csrf-token": token}).status_code < 300
        test_client.cookies.clear()
        yield test_client


def log_in(
    client: TestClient, username: str, password: str = "pw", next_url: str = "/admin/"
) -> Response:
    page = client.get("/admin/login/", params={"next": next_url})
    token = TOKEN.search(page.text)
    assert token is not None, page.text
    form = {"username": username, "password": password, "next": next_url}
    return client.post("/admin/login/", data={**form, "csrf_token": token.group(1)})


def test_the_admin_has_its_own_styled_login_page(client: TestClient) -> None:
    assert client.get("/admin/user/").headers["location"] == "/admin/login/?next=/admin/user/"
    page = client.get("/admin/login/?next=/admin/user/")
    assert page.status_code == 200
    assert '<link rel="stylesheet" href="/admin/static/admin.css">' in page.text
    assert 'autocomplete="username"' in page.text
    assert 'autocomplete="current-password"' in page.text
    assert 'name="next" value="/admin/user/"' in page.text
    wrong = log_in(client, "ada", "nope")
    assert wrong.status_code == 200
    assert "correct username and password for a staff account" in wrong.text
    done = log_in(client, "ada", next_url="/admin/user/")
    assert done.status_code == 303
    assert done.headers["location"] == "/admin/user/"
    assert client.get("/admin/user/").status_code == 200
    # Signed in already: the log-in page goes on to the admin; no open redirect either.
    assert client.get("/admin/login/?next=//evil.example").headers["location"] == "/admin/"


def test_a_user_who_is_not_staff_cannot_log_in_to_the_admin(client: TestClient) -> None:
    refused = log_in(client, "bob")
    assert refused.status_code == 200
    assert "for a staff account" in refused.text
    assert client.get("/admin/").status_code == 303  # still anonymous


def test_logging_out_of_the_admin(client: TestClient) -> None:
    assert log_in(client, "ada").status_code == 303
    index = client.get("/admin/")
    assert '<form method="post" action="/admin/logout/" class="inline">' in index.text
    assert ">Log out</button>" in index.text
    token = TOKEN.search(index.text)
    assert token is not None
    out = client.post("/admin/logout/", data={"csrf_token": token.group(1)})
    assert out.status_code == 303
    assert out.headers["location"] == "/admin/login/"
    assert client.get("/admin/").status_code == 303


def test_logout_goes_to_plait_auth_and_non_staff_may_log_in_again(tmp_path: Path) -> None:
    app, db = make(tmp_path, pages=True)
    with rolled_back(db, create_all=True), TestClient(app, follow_redirects=False) as client:
        token = client.get("/token").json()["token"]
        client.post("/users", headers={"x-csrf-token": token})
        # plait.auth's pages say how a password input is filled in, too.
        site_login = client.get("/login").text
        assert 'autocomplete="current-password"' in site_login
        assert 'autocomplete="username"' in site_login
        assert client.get("/signup").text.count('autocomplete="new-password"') == 2
        assert log_in(client, "ada").status_code == 303
        index = client.get("/admin/").text
        assert '<form method="post" action="/logout" class="inline">' in index
        # bob logs in through the site's page and tries the admin.
        client.cookies.clear()
        page = client.get("/login").text
        token_match = TOKEN.search(page)
        assert token_match is not None
        form = {"username": "bob", "password": "pw", "csrf_token": token_match.group(1)}
        assert client.post("/login", data=form).status_code == 303
        forbidden = client.get("/admin/user/")
        assert forbidden.status_code == 403
        assert 'href="/admin/login/?next=/admin/user/"' in forbidden.text
        assert "Log in as another user" in forbidden.text
        assert "Back to the administration home" not in forbidden.text
        again = client.get("/admin/login/?next=/admin/user/")
        assert "You are authenticated as bob" in again.text
        assert log_in(client, "ada", next_url="/admin/user/").headers["location"] == "/admin/user/"
        assert client.get("/admin/user/").status_code == 200


def test_a_project_login_url_wins(tmp_path: Path) -> None:
    app, db = make(tmp_path, pages=False, login_url="/accounts/login", logout_url="/bye")
    with rolled_back(db, create_all=True), TestClient(app, follow_redirects=False) as client:
        assert client.get("/admin/").headers["location"] == "/accounts/login?next=/admin/"
