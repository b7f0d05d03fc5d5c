"""JWT access tokens: log in with JSON, call the API with ``Authorization: <scheme> <jwt>``, and
the attacks on tokens (alg=none, a wrong key, expired, not yet valid, another audience, a
tampered payload, HS/RS confusion), on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from auth_services import SECRET, Credentials, new_user, seed
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from plait import App, HTTPException, Request
from plait.auth import (
    Auth,
    CurrentUser,
    JWTKey,
    LoginRequired,
    Tokens,
    User,
    authenticate,
    credentials_of,
    login,
    logout,
)
from plait.csrf import CSRF, csrf_exempt, csrf_token
from plait.db import Database, Session
from plait.sessions import MemoryStore, Sessions
from plait.testing import TestClient

pytestmark = pytest.mark.usefixtures("fast_hashing")

KEY = "k" * 40
OLD_KEY = "o" * 40
_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_PRIVATE = _RSA.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
)
RSA_PUBLIC = _RSA.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)


def make_app(
    db_url: str, tmp_path: Path, *, csrf: bool = False, **options: Any
) -> tuple[App, Tokens]:
    app = App()
    Sessions(app, store=MemoryStore())
    if csrf:
        CSRF(app)
    db = Database(app, db_url, auto_migrate=True, migrations=tmp_path / "no-migrations")
    tokens = Auth(app, db, secret_key=SECRET).add_tokens(**options)

    @app.post("/api/login")
    @csrf_exempt  # answers with a token in the body, which another site cannot read
    async def api_login(session: Session, data: Credentials) -> dict[str, str]:
        user = await authenticate(session, data.username, data.password)
        if user is None:
            raise HTTPException(400, "Wrong username or password")
        return {"token": tokens.access_token(user)}

    @app.post("/login")
    async def cookie_login(request: Request, session: Session, data: Credentials) -> str:
        user = await authenticate(session, data.username, data.password)
        assert user is not None
        await login(request, user)
        return "ok"

    @app.post("/logout")
    async def do_logout(request: Request) -> str:
        await logout(request)
        return "bye"

    @app.get("/me")
    async def me(request: Request, user: CurrentUser) -> dict[str, Any]:
        return {
            "user": user.username if user else None,
            "method": credentials_of(request).method,
        }

    @app.post("/act")
    async def act(user: LoginRequired, session: Session) -> dict[str, str]:
        session.add(user)
        user.email = "changed@example.com"
        return {"user": user.username}

    @app.post("/password")
    async def change_password(user: LoginRequired, session: Session) -> str:
        session.add(user)
        user.set_password("a new password")
        return "changed"

    return app, tokens


def api_token(client: TestClient, username: str = "ada", password: str = "correct horse") -> str:
    response = client.post("/api/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def forge(claims: dict[str, Any], key: str | bytes = KEY, **header: Any) -> str:
    algorithm = header.pop("alg", "HS256")
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": "k1", **header})


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def assert_refused(response: Any, scheme: str, detail: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == detail
    assert response.headers["www-authenticate"] == (
        f'{scheme} error="invalid_token", error_description="{detail}"'
    )


def test_token_login_and_the_auth_dependencies(db_url: str, tmp_path: Path) -> None:
    seed(db_url, new_user("ada"))
    app, _ = make_app(db_url, tmp_path, keys=[JWTKey("k1", KEY)])
    with TestClient(app) as client:
        assert (
            client.post("/api/login", json={"username": "ada", "password": "no"}).status_code == 400
        )
        token = api_token(client)
        claims = claims_of(token)
        assert claims["exp"] - claims["iat"] == 15 * 60
        assert jwt.get_unverified_header(token) == {"alg": "HS256", "kid": "k1", "typ": "JWT"}
        bearer = {"Authorization": f"Bearer {token}"}
        assert client.get("/me", headers=bearer).json() == {"user": "ada", "method": "jwt"}
        assert client.post("/act", headers=bearer).json() == {"user": "ada"}
        assert client.get("/me").json() == {"user": None, "method": "session"}
        missing = client.post("/act")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == "Bearer"
        assert missing.headers["content-type"] == "application/problem+json"
        # The scheme is matched without regard to case (RFC 9110); another scheme is not ours.
        lower = {"Authorization": f"bearer {token}"}
        assert client.get("/me", headers=lower).json()["user"] == "ada"
        basic = {"Authorization": "Basic YWRhOmNvcnJlY3QgaG9yc2U="}
        assert client.get("/me", headers=basic).json()["user"] is None


def test_realworld_token_scheme(db_url: str, tmp_path: Path) -> None:
    seed(db_url, new_user("ada"))
    app, _ = make_app(db_url, tmp_path, scheme="Token", lifetime=datetime.timedelta(days=1))
    with TestClient(app) as client:
        token = api_token(client)
        assert (
            client.get("/me", headers={"Authorization": f"Token {token}"}).json()["user"] == "ada"
        )
        bearer = client.post("/act", headers={"Authorization": f"Bearer {token}"})
        assert bearer.status_code == 401
        assert bearer.headers["www-authenticate"] == "Token"
        bad = client.get("/me", headers={"Authorization": "Token not-a-jwt"})
        assert_refused(bad, "Token", "The token is invalid or revoked")


def test_attacks_on_jwts_are_refused(db_url: str, tmp_path: Path) -> None:
    seed(db_url, new_user("ada"))
    app, _ = make_app(db_url, tmp_path, keys=[JWTKey("k1", KEY)], audience="api.example")
    with TestClient(app) as client:
        good = api_token(client)
        claims = claims_of(good)
        assert claims["aud"] == "api.example"
        now = datetime.datetime.now(datetime.UTC)
        later = {"exp": now + datetime.timedelta(minutes=5), "iat": now}
        header, payload, signature = good.split(".")
        attacks = {
            # alg=none: no signature at all.
            "none": (
                jwt.encode(claims, None, algorithm="none", headers={"kid": "k1"}),
                "The token's algorithm is not allowed",
            ),
            "none, by hand": (
                f"{b64({'alg': 'none', 'kid': 'k1', 'typ': 'JWT'})}.{payload}.",
                "The token's algorithm is not allowed",
            ),
            "a wrong key": (forge(claims, "w" * 40), "The token's signature is invalid"),
            "an unknown kid": (forge(claims, kid="k9"), "The token was signed with an unknown key"),
            "no kid": (
                jwt.encode(claims, KEY, algorithm="HS256"),
                "The token was signed with an unknown key",
            ),
            "HS512 with the key": (
                forge(claims, "k" * 64, alg="HS512"),
                "The token's algorithm is not allowed",
            ),
            "expired": (
                forge({**claims, "exp": now - datetime.timedelta(seconds=5)}),
                "The token has expired",
            ),
            "not yet valid": (
                forge({**claims, "nbf": now + datetime.timedelta(minutes=1), **later}),
                "The token is not valid yet",
            ),
            "another audience": (
                forge({**claims, "aud": "other.example"}),
                "The token is for another audience",
            ),
            "no audience": (
                forge({k: v for k, v in claims.items() if k != "aud"}),
                "The token is invalid",
            ),
            "no expiry": (
                forge({k: v for k, v in claims.items() if k != "exp"}),
                "The token is invalid",
            ),
            "a tampered payload": (
                f"{header}.{b64({**claims, 'sub': '2'})}.{signature}",
                "The token's signature is invalid",
            ),
            "a tampered user hash": (
                forge({**claims, "uh": "x" * 22}),
                "The token was revoked (password change or logout)",
            ),
            "another user id": (
                forge({**claims, "sub": "999"}),
                "The token's user is inactive or gone",
            ),
            "garbage": ("a.b.c", "The token is malformed"),
        }
        for name, (token, detail) in attacks.items():
            response = client.get("/me", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401, name
            assert_refused(response, "Bearer", detail)
        # The real token still works, and the forged one with the right key too (the key is
        # the secret: whoever holds it can sign).
        assert (
            client.get("/me", headers={"Authorization": f"Bearer {good}"}).json()["user"] == "ada"
        )


def test_hs_rs_confusion_is_refused(db_url: str, tmp_path: Path) -> None:
    seed(db_url, new_user("ada"))
    key = JWTKey("k1", RSA_PRIVATE, algorithm="RS256", public_key=RSA_PUBLIC)
    app, _ = make_app(db_url, tmp_path, keys=[key])
    with TestClient(app) as client:
        good = api_token(client)
        assert jwt.get_unverified_header(good)["alg"] == "RS256"
        assert (
            client.get("/me", headers={"Authorization": f"Bearer {good}"}).json()["user"] == "ada"
        )
        # The classic confusion: an HS256 token "signed" with the public key, which a
        # verifier trusting the token's alg would check as an HMAC secret.
        header = b64({"alg": "HS256", "kid": "k1", "typ": "JWT"})
        payload = b64({**claims_of(good), "sub": claims_of(good)["sub"]})
        signing_input = f"{header}.{payload}".encode()
        mac = hmac.new(RSA_PUBLIC, signing_input, hashlib.sha256).digest()
        forged = f"{header}.{payload}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
        response = client.get("/me", headers={"Authorization": f"Bearer {forged}"})
        assert_refused(response, "Bearer", "The token's algorithm is not allowed")


def test_key_rotation_through_kid(db_url: str, tmp_path: Path) -> None:
    seed(db_url, new_user("ada"))
    old_app, _ = make_app(db_url, tmp_path, keys=[JWTKey("old", OLD_KEY)])
    with TestClient(old_app) as client:
        old_token = api_token(client)
    # The new key signs; the old one still verifies the tokens it made.
    app, _ = make_app(db_url, tmp_path, keys=[JWTKey("new", KEY), JWTKey("old", OLD_KEY)])
    with TestClient(app) as client:
        new_token = api_token(client)
        assert jwt.get_unverified_header(new_token)["kid"] == "new"
        for token in (old_token, new_token):
            assert (
                client.get("/me", headers={"Authorization": f"Bearer {token}"}).json()["user"]
                == "ada"
            )
    # Once the old key is dropped, its tokens are refused.
    app, _ = make_app(db_url, tmp_path, keys=[JWTKey("new", KEY)])
    with TestClient(app) as client:
        response = client.get("/me", headers={"Authorization": f"Bearer {old_token}"})
        assert_refused(response, "Bearer", "The token was signed with an unknown key")


def test_token_requests_skip_csrf_and_never_use_the_cookie(db_url: str, tmp_path: Path) -> None:
    seed(db_url, new_user("ada"), new_user("bob"))
    app, _ = make_app(db_url, tmp_path, csrf=True)

    @app.get("/csrf")
    async def token_for_forms(request: Request) -> str:
        return csrf_token(request)

    with TestClient(app) as client:
        token = api_token(client)  # the token login route is @csrf_exempt
        # A token request needs no CSRF token.
        response = client.post("/act", headers={"Authorization": f"Bearer {token}"})
        assert response.json() == {"user": "ada"}
        # A cookie login keeps the CSRF check: refused without the token, fine with it.
        bob = {"username": "bob", "password": "correct horse"}
        assert client.post("/login", json=bob).status_code == 403
        form_token = client.get("/csrf").text
        assert client.post("/login", json=bob, headers={"X-CSRF-Token": form_token}).text == "ok"
        assert client.get("/me").json() == {"user": "bob", "method": "session"}
        assert client.post("/act").status_code == 403  # the cookie alone cannot act
        # A bad token sent along with bob's cookie does not fall back to the cookie.
        forged = client.post("/act", headers={"Authorization": "Bearer nonsense"})
        assert_refused(forged, "Bearer", "The token is invalid or revoked")
        anonymous = client.post("/act", headers={"Authorization": "Bearer "})
        assert anonymous.status_code == 401
        # A good token with bob's cookie is ada's request.
        both = client.get("/me", headers={"Authorization": f"Bearer {token}"})
        assert both.json() == {"user": "ada", "method": "jwt"}


def test_password_change_and_logout_end_the_tokens(db_url: str, tmp_path: Path) -> None:
    seed(db_url, new_user("ada"))
    app, _ = make_app(db_url, tmp_path)
    with TestClient(app) as client:
        token = api_token(client)
        second = api_token(client)
        bearer = {"Authorization": f"Bearer {token}"}
        assert client.post("/password", headers=bearer).status_code == 200
        for old in (token, second):
            response = client.get("/me", headers={"Authorization": f"Bearer {old}"})
            assert_refused(response, "Bearer", "The token was revoked (password change or logout)")
        fresh = api_token(client, password="a new password")
        assert (
            client.get("/me", headers={"Authorization": f"Bearer {fresh}"}).json()["user"] == "ada"
        )


def test_inactive_users_tokens_are_refused(db_url: str, tmp_path: Path) -> None:
    seed(db_url, new_user("ada"))
    app, _tokens = make_app(db_url, tmp_path)

    @app.post("/deactivate")
    async def deactivate(user: LoginRequired, session: Session) -> str:
        session.add(user)
        user.is_active = False
        return "done"

    with TestClient(app) as client:
        bearer = {"Authorization": f"Bearer {api_token(client)}"}
        assert client.post("/deactivate", headers=bearer).status_code == 200
        assert_refused(
            client.get("/me", headers=bearer), "Bearer", "The token's user is inactive or gone"
        )


def test_scopes_and_claims_reach_the_handler(db_url: str, tmp_path: Path) -> None:
    seed(db_url, new_user("ada"))
    app, tokens = make_app(db_url, tmp_path)

    @app.post("/scoped")
    async def scoped(session: Session) -> dict[str, str]:
        user = (await session.execute(sa.select(User))).scalar_one()
        return {"token": tokens.access_token(user, scopes=["b", "a"], claims={"org": 7})}

    @app.get("/granted")
    async def granted(request: Request, user: LoginRequired) -> dict[str, Any]:
        credentials = credentials_of(request)
        assert credentials.claims is not None
        return {
            "scopes": sorted(credentials.scopes or ()),
            "org": credentials.claims["org"],
            "has a": credentials.has_scopes("a"),
            "has c": credentials.has_scopes("a", "c"),
        }

    with TestClient(app) as client:
        token = client.post("/scoped").json()["token"]
        assert claims_of(token)["scope"] == "a b"
        granted_ = client.get("/granted", headers={"Authorization": f"Bearer {token}"}).json()
        assert granted_ == {"scopes": ["a", "b"], "org": 7, "has a": True, "has c": False}


@pytest.mark.parametrize(
    ("kid", "key", "options", "message"),
    [
        ("k", None, {"algorithm": "none"}, "unsupported JWT algorithm 'none'"),
        ("k", "short", {}, "at least 32 bytes"),
        ("k", RSA_PRIVATE, {"algorithm": "RS256"}, "needs public_key="),
        ("k", KEY, {"algorithm": "HS256", "public_key": RSA_PUBLIC}, "is HMAC"),
        ("", KEY, {}, "non-empty kid"),
    ],
)
def test_bad_keys_are_refused(kid: str, key: Any, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        JWTKey(kid, key, **options)


def test_bad_token_options_are_refused(tmp_path: Path) -> None:
    app = App()
    Sessions(app, secret_key=SECRET)
    auth = Auth(app, Database(app, f"sqlite:///{tmp_path / 'db.sqlite3'}"), secret_key=SECRET)
    with pytest.raises(ValueError, match="one word"):
        auth.add_tokens(scheme="Bearer token")
    with pytest.raises(ValueError, match="key ids must differ"):
        auth.add_tokens(keys=[JWTKey("a", KEY), JWTKey("a", OLD_KEY)])
    with pytest.raises(ValueError, match="private key"):
        auth.add_tokens(keys=[JWTKey("a", None, algorithm="RS256", public_key=RSA_PUBLIC)])
    auth.add_tokens()
    with pytest.raises(RuntimeError, match="already"):
        auth.add_tokens()


def test_a_tokens_only_app_needs_no_sessions(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"
    seed(db_url, new_user("ada"))
    app = App()
    db = Database(app, db_url)
    tokens = Auth(app, db, secret_key=SECRET).add_tokens()

    @app.post("/token")
    async def token(session: Session, data: Credentials) -> str:
        user = await authenticate(session, data.username, data.password)
        assert user is not None
        return tokens.access_token(user)

    @app.get("/me")
    async def me(user: LoginRequired) -> str:
        return user.username

    with TestClient(app) as client:
        issued = client.post("/token", json={"username": "ada", "password": "correct horse"})
        assert client.get("/me", headers={"Authorization": f"Bearer {issued.text}"}).text == "ada"
        assert client.get("/me").status_code == 401
