"""The ready-made password change and reset pages (Django's views), driven like a browser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from auth_services import SECRET, new_user, seed

from plait import App
from plait.auth import Auth
from plait.csrf import CSRF
from plait.db import Database
from plait.mail import Mail, MemoryBackend
from plait.sessions import MemoryStore, Sessions
from plait.templates import Templates
from plait.testing import TestClient

pytestmark = pytest.mark.usefixtures("fast_hashing")
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def make_app(tmp_path: Path, *, mail: bool = True) -> tuple[App, MemoryBackend]:
    app = App()
    Sessions(app, store=MemoryStore(), secret_key=SECRET)
    CSRF(app)
    Templates(app, tmp_path)
    outbox = MemoryBackend()
    if mail:
        Mail(app, outbox)
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"
    auth = Auth(app, Database(app, url, auto_migrate=True), secret_key=SECRET)
    auth.add_pages(login_limit=None)
    auth.add_password_pages()
    return app, outbox


def test_password_change_page(tmp_path: Path) -> None:
    seed(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}", new_user("ada"))
    app, _ = make_app(tmp_path)
    with TestClient(app, follow_redirects=False, headers=BROWSER) as client:
        assert client.get("/password_change").headers["location"] == (
            "/login?next=/password_change"
        )
        client.post_form("/login", {"username": "ada", "password": "correct horse"})
        page = client.get("/password_change").text
        assert "<h1>Password change</h1>" in page
        assert 'name="old_password"' in page
        form = {"old_password": "nope", "new_password1": "a", "new_password2": "a"}
        wrong = client.post_form("/password_change", form)
        assert "Your old password was entered incorrectly. Please enter it again." in wrong.text
        form["old_password"] = "correct horse"
        weak = client.post_form(
            "/password_change", {**form, "new_password1": "password", "new_password2": "password"}
        )
        assert "This password is too common." in weak.text
        differ = client.post_form(
            "/password_change",
            {**form, "new_password1": "one long secret", "new_password2": "another"},
        )
        assert "The two password fields didn&#39;t match." in differ.text
        good = {**form, "new_password1": "one long secret", "new_password2": "one long secret"}
        done = client.post_form("/password_change", good)
        assert (done.status_code, done.headers["location"]) == (303, "/")
        assert client.get("/password_change").status_code == 200  # still logged in


def test_password_reset_pages(tmp_path: Path) -> None:
    seed(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}", new_user("ada"))
    app, outbox = make_app(tmp_path)
    with TestClient(app, follow_redirects=False, headers=BROWSER) as client:
        assert "<h1>Password reset</h1>" in client.get("/password_reset").text
        unknown = client.post_form("/password_reset", {"email": "who@example.com"})
        known = client.post_form("/password_reset", {"email": "ada@example.com"})
        assert (unknown.status_code, unknown.headers["location"]) == (303, "/login")
        assert (known.status_code, known.headers["location"]) == (303, "/login")
        assert "We&#39;ve emailed you instructions" in client.get("/login").text
        [message] = outbox.outbox
        assert message.to == ["ada@example.com"]
        match = re.search(r"http://testserver(/reset/\S+/\S+)", message.body)
        assert match is not None
        link = match.group(1)
        assert "<h1>Enter new password</h1>" in client.get(link).text
        weak = client.post_form(link, {"new_password1": "12345678", "new_password2": "12345678"})
        assert "This password is entirely numeric." in weak.text
        new = {"new_password1": "a fresh secret", "new_password2": "a fresh secret"}
        done = client.post_form(link, new)
        assert (done.status_code, done.headers["location"]) == (303, "/login")
        assert "Your password has been set." in client.get("/login").text
        assert "Password reset unsuccessful" in client.get(link).text  # used up
        logged_in = client.post_form("/login", {"username": "ada", "password": "a fresh secret"})
        assert logged_in.status_code == 303


def test_the_reset_page_needs_mail(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path, mail=False)
    with pytest.raises(RuntimeError, match=r"add Mail\(app, backend\)"), TestClient(app):
        pass
