"""Password policy (Django's validators and messages), password change, and password reset by
e-mail (single-use, expiring tokens bound to the password hash; the same answer whether or
not the address exists), on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest
from auth_services import SECRET, Credentials, new_user, seed

from plait import App, BackgroundTasks, HTTPException, Request
from plait.auth import (
    Auth,
    CommonPasswordValidator,
    LoginRequired,
    MinimumLengthValidator,
    PasswordInvalid,
    ResetTokenInvalid,
    User,
    UserAttributeSimilarityValidator,
    authenticate,
    change_password,
    login,
    password_problems,
    validate_password,
)
from plait.auth._reset import PasswordResetTokens
from plait.db import Database, Session
from plait.mail import Mail, MemoryBackend
from plait.sessions import MemoryStore, Sessions
from plait.testing import TestClient

pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.mark.parametrize(
    ("password", "user", "messages"),
    [
        ("password", None, ["This password is too common."]),
        (
            "12345678",
            None,
            ["This password is too common.", "This password is entirely numeric."],
        ),
        (
            "1234",
            None,
            [
                "This password is too short. It must contain at least 8 characters.",
                "This password is too common.",
                "This password is entirely numeric.",
            ],
        ),
        ("98127364518273", None, ["This password is entirely numeric."]),
        (
            "adalovelace",
            User(username="adalovelace"),
            ["The password is too similar to the username."],
        ),
        (
            "lovelace-42",
            User(username="ada", email="lovelace@example.com"),
            ["The password is too similar to the email address."],
        ),
        ("correct horse battery", User(username="ada"), []),
    ],
)
def test_djangos_validators(password: str, user: User | None, messages: list[str]) -> None:
    assert password_problems(password, user) == messages
    if messages:
        with pytest.raises(PasswordInvalid) as raised:
            validate_password(password, user)
        assert raised.value.messages == messages


def test_validators_are_configurable(tmp_path: Path) -> None:
    words = tmp_path / "words.txt"
    words.write_text("hunter22\n")
    chosen = [MinimumLengthValidator(12), CommonPasswordValidator(words)]
    assert password_problems("hunter22", validators=chosen) == [
        "This password is too short. It must contain at least 12 characters.",
        "This password is too common.",
    ]
    assert password_problems("password", validators=chosen) == [
        "This password is too short. It must contain at least 12 characters."
    ]
    with pytest.raises(ValueError, match=r"at least 0\.1"):
        UserAttributeSimilarityValidator(max_similarity=0.05)


class PasswordChange(msgspec.Struct):
    old_password: str
    new_password: str


class ResetRequest(msgspec.Struct):
    email: str


class ResetConfirm(msgspec.Struct):
    uid: str
    token: str
    password: str


def make_app(db_url: str, tmp_path: Path) -> tuple[App, MemoryBackend]:
    app = App()
    Sessions(app, store=MemoryStore())
    outbox = MemoryBackend()
    Mail(app, outbox, default_from="site@example.com")
    db = Database(app, db_url, auto_migrate=True, migrations=tmp_path / "no-migrations")
    auth = Auth(app, db, secret_key=SECRET)
    tokens = auth.add_tokens()

    @app.post("/login")
    async def do_login(request: Request, session: Session, data: Credentials) -> dict[str, str]:
        user = await authenticate(session, data.username, data.password)
        if user is None:
            raise HTTPException(400, "Wrong username or password")
        await login(request, user)
        return {"token": tokens.access_token(user)}

    @app.get("/me")
    async def me(user: LoginRequired) -> str:
        return user.username

    @app.post("/password")
    async def password(
        request: Request, user: LoginRequired, session: Session, data: PasswordChange
    ) -> str:
        try:
            await change_password(request, session, user, data.old_password, data.new_password)
        except PasswordInvalid as exc:
            raise HTTPException(422, exc.messages) from None
        return "changed"

    @app.post("/password-reset", status_code=202)
    async def reset_request(data: ResetRequest, tasks: BackgroundTasks) -> dict[str, str]:
        tasks.add_task(
            auth.send_password_reset,
            data.email,
            lambda uid, token: f"https://example.com/reset/{uid}/{token}",
            site="example.com",
        )
        return {"detail": "If the address is known, a reset link is on its way."}

    @app.post("/password-reset/confirm")
    async def reset_confirm(session: Session, data: ResetConfirm) -> str:
        try:
            await auth.reset_password(session, data.uid, data.token, data.password)
        except ResetTokenInvalid as exc:
            raise HTTPException(400, str(exc)) from None
        except PasswordInvalid as exc:
            raise HTTPException(422, exc.messages) from None
        return "reset"

    return app, outbox


def log_in(client: TestClient, password: str = "correct horse") -> str:
    response = client.post("/login", json={"username": "ada", "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


def test_password_change(db_url: str, tmp_path: Path) -> None:
    seed(db_url, new_user("ada"))
    app, _ = make_app(db_url, tmp_path)
    with TestClient(app) as client, TestClient(app) as other_device:
        token = log_in(client)
        log_in(other_device)
        wrong = client.post("/password", json={"old_password": "nope", "new_password": "x"})
        assert wrong.status_code == 422
        assert wrong.json()["detail"] == [
            "Your old password was entered incorrectly. Please enter it again."
        ]
        weak = client.post(
            "/password", json={"old_password": "correct horse", "new_password": "12345678"}
        )
        assert weak.json()["detail"] == [
            "This password is too common.",
            "This password is entirely numeric.",
        ]
        good = {"old_password": "correct horse", "new_password": "a much better secret"}
        assert client.post("/password", json=good).text == "changed"
        assert client.get("/me").text == "ada"  # this session stays logged in
        assert other_device.get("/me").status_code == 401  # the others end
        assert client.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        log_in(other_device, "a much better secret")


def reset_link(outbox: MemoryBackend) -> tuple[str, str]:
    match = re.search(r"https://example.com/reset/([^/]+)/(\S+)", outbox.outbox[-1].body)
    assert match is not None
    return match.group(1), match.group(2)


def test_password_reset(db_url: str, tmp_path: Path) -> None:
    seed(db_url, new_user("ada"), new_user("off", is_active=False))
    app, outbox = make_app(db_url, tmp_path)
    with TestClient(app) as client:
        known = client.post("/password-reset", json={"email": "ADA@example.com"})
        unknown = client.post("/password-reset", json={"email": "nobody@example.com"})
        inactive = client.post("/password-reset", json={"email": "off@example.com"})
        # The same answer whether or not the address exists.
        assert (known.status_code, known.content) == (unknown.status_code, unknown.content)
        assert (inactive.status_code, inactive.content) == (unknown.status_code, unknown.content)
        [message] = outbox.outbox
        assert message.to == ["ada@example.com"]
        assert message.from_email == "site@example.com"
        assert message.subject == "Password reset"
        assert "Your username, in case you've forgotten: ada" in message.body
        uid, token = reset_link(outbox)
        weak = {"uid": uid, "token": token, "password": "password"}
        assert client.post("/password-reset/confirm", json=weak).json()["detail"] == [
            "This password is too common."
        ]
        good = {**weak, "password": "a new strong secret"}
        assert client.post("/password-reset/confirm", json=good).text == "reset"
        log_in(client, "a new strong secret")
        # Used twice: refused (the password hash it was bound to changed).
        again = client.post("/password-reset/confirm", json={**good, "password": "another one!"})
        assert again.status_code == 400
        assert again.json()["detail"].startswith("The password reset link was invalid")
        for bad in (
            {**good, "token": token[:-1] + "0"},
            {**good, "uid": "Zm9v"},
            {**good, "uid": "!"},
        ):
            assert client.post("/password-reset/confirm", json=bad).status_code == 400


def test_reset_tokens_expire_and_die_with_a_password_change(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(db_url, new_user("ada"))
    app, outbox = make_app(db_url, tmp_path)
    with TestClient(app) as client:
        client.post("/password-reset", json={"email": "ada@example.com"})
        uid, token = reset_link(outbox)
        body = {"uid": uid, "token": token, "password": "a new strong secret"}
        real_now = PasswordResetTokens._now
        # Three days and a second later (Django's default timeout): expired.
        monkeypatch.setattr(
            PasswordResetTokens, "_now", lambda self: real_now(self) + 3 * 86400 + 1
        )
        assert client.post("/password-reset/confirm", json=body).status_code == 400
        monkeypatch.setattr(PasswordResetTokens, "_now", real_now)
        # A password change since the link was sent uses it up too.
        log_in(client)
        change = {"old_password": "correct horse", "new_password": "changed it myself"}
        assert client.post("/password", json=change).status_code == 200
        assert client.post("/password-reset/confirm", json=body).status_code == 400


def test_reset_needs_a_mail_backend(tmp_path: Path) -> None:
    app = App()
    Sessions(app, secret_key=SECRET)
    auth = Auth(
        app, Database(app, f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"), secret_key=SECRET
    )
    seed(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}", new_user("ada"))

    @app.post("/reset")
    async def reset() -> int:
        return await auth.send_password_reset("ada@example.com", lambda uid, token: "x")

    with TestClient(app) as client:
        assert client.post("/reset").status_code == 500
    with pytest.raises(RuntimeError, match=r"add Mail\(app, backend\)"):
        Mail.of(app)


def test_signup_page_refuses_weak_passwords_with_djangos_messages(tmp_path: Path) -> None:
    from plait.csrf import CSRF
    from plait.templates import Templates

    app = App()
    Sessions(app, store=MemoryStore(), secret_key=SECRET)
    CSRF(app)
    Templates(app, tmp_path)
    db = Database(app, f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}", auto_migrate=True)
    Auth(app, db, secret_key=SECRET).add_pages(signup_limit=None)
    with TestClient(app, follow_redirects=False) as client:
        for password, messages in (
            ("password", ["This password is too common."]),
            ("12345678", ["This password is too common.", "This password is entirely numeric."]),
            ("grace-hopper", ["The password is too similar to the username."]),
        ):
            form = {"username": "grace-hopper", "password1": password, "password2": password}
            response = client.post_form("/signup", form)
            assert response.status_code == 200, password
            for message in messages:
                assert message in response.text, (password, message)
        good = {
            "username": "grace-hopper",
            "password1": "c0b0l rules!",
            "password2": "c0b0l rules!",
        }
        assert client.post_form("/signup", good).status_code == 303
