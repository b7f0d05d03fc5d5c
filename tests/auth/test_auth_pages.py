"""The ready-made pages: sign up, log in (with ?next=), log out; CSRF-protected forms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from auth_services import SECRET, new_user, seed

from plait import App
from plait.auth import Auth, LoginRequired
from plait.csrf import CSRF
from plait.db import Database
from plait.sessions import MemoryStore, Sessions
from plait.templates import Templates
from plait.testing import TestClient


def _app(
    db_url: str, tmp_path: Path, *, layout: str | None = None, limits: dict[str, Any] | None = None
) -> App:
    app = App()
    Sessions(app, store=MemoryStore(), secret_key=SECRET)
    CSRF(app)
    Templates(app, tmp_path)
    db = Database(app, db_url, auto_migrate=True, migrations=tmp_path / "no-migrations")
    auth = Auth(app, db, secret_key=SECRET)
    if layout is None:
        auth.add_pages(**(limits or {}))
    else:
        auth.add_pages(prefix="/accounts", layout=layout, redirect_to="/home")

    @app.get("/secret")
    def secret(user: LoginRequired) -> str:
        return f"hello {user.username}"

    return app


def _post(
    client: TestClient, url: str, data: dict[str, str], page: str | None = None
) -> httpx.Response:
    """A form post with its CSRF token, as a browser sends it (the test client's helper)."""
    return client.post_form(url, data, page=page)


def test_sign_up_then_log_in_then_log_out(db_url: str, tmp_path: Path) -> None:
    with TestClient(_app(db_url, tmp_path), follow_redirects=False) as client:
        page = client.get("/signup").text
        assert "<h1>Sign up</h1>" in page
        assert 'name="username" id="id_username" required' in page
        assert 'maxlength="150"' in page
        # Django's UserCreationForm names: password1, password2.
        assert 'type="password" name="password1" id="id_password1" required' in page
        assert '<label for="id_password2">Password confirmation</label>' in page

        differ = {"username": "ada", "password1": "long enough", "password2": "other one"}
        response = _post(client, "/signup", differ)
        assert "The two password fields didn&#39;t match." in response.text
        short = _post(client, "/signup", {**differ, "password1": "short", "password2": "short"})
        assert "at least 8 characters" in short.text
        assert "didn&#39;t match" not in short.text  # clean() ran, and compared nothing

        good = {"username": "ada", "password1": "long enough", "password2": "long enough"}
        done = _post(client, "/signup", good)
        assert (done.status_code, done.headers["location"]) == (303, "/login")
        assert "Account created, please log in." in client.get("/login").text
        again = _post(client, "/signup", good)
        assert "A user with that username already exists." in again.text

        wrong = _post(client, "/login", {"username": "ada", "password": "not it"})
        assert wrong.status_code == 200
        assert "Please enter a correct username and password." in wrong.text

        assert client.get("/secret", headers={"Accept": "text/html"}).headers["location"] == (
            "/login?next=/secret"
        )
        login = _post(
            client,
            "/login?next=/secret",
            {"username": "ada", "password": "long enough"},
        )
        assert login.headers["location"] == "/secret"
        assert client.get("/secret").text == "hello ada"

        assert client.post("/logout").status_code == 403  # no CSRF token
        out = _post(client, "/logout", {}, page="/login")
        assert (out.status_code, out.headers["location"]) == (303, "/")
        assert client.get("/secret").status_code == 401


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil", ""])
def test_next_never_leaves_the_site(db_url: str, tmp_path: Path, target: str) -> None:
    seed(db_url, new_user("ada"))
    with TestClient(_app(db_url, tmp_path), follow_redirects=False) as client:
        login = _post(
            client, f"/login?next={target}", {"username": "ada", "password": "correct horse"}
        )
    assert login.headers["location"] == "/"


def test_pages_in_the_project_layout(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "site.html").write_text("<header>My site</header>{% block content %}{% endblock %}")
    seed(db_url, new_user("ada"))
    app = _app(db_url, tmp_path, layout="site.html")
    assert app.url_path_for("signup") == "/accounts/signup"
    with TestClient(app, follow_redirects=False) as client:
        page = client.get("/accounts/login").text
        assert page.startswith("<header>My site</header>")
        login = _post(client, "/accounts/login", {"username": "ada", "password": "correct horse"})
        assert login.headers["location"] == "/home"
        client.cookies.clear()  # anonymous again (one client: an engine belongs to one loop)
        denied = client.get("/secret", headers={"Accept": "text/html"})
    assert denied.headers["location"].startswith("/accounts/login?next=")


def test_pages_need_templates(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"
    app = App()
    Sessions(app, store=MemoryStore(), secret_key=SECRET)
    # No auto_migrate: the failed start-up must not leave a connection open behind it.
    db = Database(app, db_url)
    Auth(app, db, secret_key=SECRET).add_pages()
    with (
        pytest.raises(RuntimeError, match=r"need templates: add Templates\(app\)"),
        TestClient(app),
    ):
        pass
