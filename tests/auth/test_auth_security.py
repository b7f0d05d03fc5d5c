"""Security review of plait.auth: login CSRF (the token rotates at login) and open redirects."""

from __future__ import annotations

from pathlib import Path

import pytest
from auth_services import SECRET, make_app, new_user, seed

from plait import App, Request
from plait.auth import Auth, safe_next
from plait.csrf import CSRF, csrf_token
from plait.db import Database
from plait.sessions import MemoryStore, Sessions
from plait.templates import Templates
from plait.testing import TestClient


def test_login_rotates_the_csrf_token(db_url: str, tmp_path: Path) -> None:
    # Django's login() rotates the CSRF token: a token planted or read before the login (login
    # CSRF, a token leaked from the anonymous page) stops working for the logged-in session.
    seed(db_url, new_user("ada"))
    app, _ = make_app(db_url, tmp_path)
    CSRF(app)

    @app.get("/token")
    async def token(request: Request) -> str:
        return csrf_token(request)

    @app.post("/act")
    async def act() -> str:
        return "done"

    with TestClient(app) as client:
        before = client.get("/token").text
        secret_before = client.cookies["csrftoken"]
        assert client.post("/act", headers={"X-CSRF-Token": before}).status_code == 200
        response = client.post(
            "/login",
            json={"username": "ada", "password": "correct horse"},
            headers={"X-CSRF-Token": before},
        )
        assert response.status_code == 200
        assert "csrftoken=" in response.headers.get("set-cookie", "")
        assert client.cookies["csrftoken"] != secret_before
        assert client.post("/act", headers={"X-CSRF-Token": before}).status_code == 403
        after = client.get("/token").text
        assert client.post("/act", headers={"X-CSRF-Token": after}).status_code == 200


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "/\\/evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r\n/evil.example",
        "\\\\evil.example",
        "https://evil.example",
        "http:evil.example",
        "javascript:alert(1)",
        " //evil.example",
        "evil.example",
        "",
    ],
)
def test_safe_next_refuses_other_sites(target: str) -> None:
    assert safe_next(target, "/home") == "/home"


@pytest.mark.parametrize("target", ["/", "/account", "/a/b?c=d#e", "/%2F/evil.example", "/x//y"])
def test_safe_next_keeps_paths_of_this_site(target: str) -> None:
    assert safe_next(target, "/home") == target


def test_the_ready_made_pages_need_csrf(tmp_path: Path) -> None:
    # Without CSRF(app) the log-in form could be posted by any site: it would log a visitor in
    # to the account of the site's choosing (login CSRF), and sign up accounts at will.
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"
    app = App()
    Sessions(app, store=MemoryStore(), secret_key=SECRET)
    Templates(app, tmp_path)
    db = Database(app, db_url)
    Auth(app, db, secret_key=SECRET).add_pages()
    with (
        pytest.raises(RuntimeError, match=r"need CSRF protection: add CSRF\(app\)"),
        TestClient(app),
    ):
        pass


def test_an_unknown_username_costs_a_password_hash_too(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Login timing: an unknown username is checked against a dummy hash, so the response
    time does not tell which usernames exist (the attack pass measured no difference)."""
    import asyncio

    import plait.auth._login as login_module
    from plait.auth import authenticate

    seed(db_url, new_user("ada"))
    checked: list[str] = []
    verify = login_module.verify_password

    def counting(hashed: str, password: str) -> bool:
        checked.append(hashed)
        return verify(hashed, password)

    monkeypatch.setattr(login_module, "verify_password", counting)

    async def main() -> None:
        db = Database(url=db_url)
        try:
            async with db.transaction() as session:
                assert await authenticate(session, "nobody", "correct horse") is None
                assert await authenticate(session, "ada", "wrong") is None
        finally:
            await db.disconnect()

    asyncio.run(main())
    assert len(checked) == 2
    assert all(hashed.startswith("$argon2") for hashed in checked)
