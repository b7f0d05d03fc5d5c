"""The OAuth2 token endpoint (password and refresh-token grants, RFC 6749 error bodies) and
the security schemes the OpenAPI document gets from the auth dependencies."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import pytest
from auth_services import SECRET, new_user, seed
from openapi_spec_validator import validate

from plait import App, Depends
from plait.auth import (
    Auth,
    CurrentUser,
    LoginRequired,
    StaffRequired,
    User,
    require_perm,
    require_scopes,
)
from plait.csrf import CSRF
from plait.db import Database
from plait.openapi import openapi_schema
from plait.sessions import MemoryStore, Sessions
from plait.testing import TestClient

pytestmark = pytest.mark.usefixtures("fast_hashing")

SCOPES = {"notes:read": "Read notes", "notes:write": "Write notes"}


def make_app(db_url: str, tmp_path: Path, *, limit: str | None = None) -> App:
    app = App()
    Sessions(app, store=MemoryStore(), cookie_name="sid")
    CSRF(app)
    db = Database(app, db_url, auto_migrate=True, migrations=tmp_path / "no-migrations")
    tokens = Auth(app, db, secret_key=SECRET).add_tokens()
    tokens.add_token_endpoint("/token", scopes=SCOPES, limit=limit)

    @app.get("/notes")
    async def notes(user: LoginRequired) -> dict[str, str]:
        return {"user": user.username}

    @app.post("/notes")
    async def write(user: Annotated[User, Depends(require_scopes("notes:write"))]) -> str:
        return user.username

    @app.delete("/notes")
    async def purge(user: Annotated[User, Depends(require_perm("notes.delete_note"))]) -> str:
        return user.username

    @app.get("/staff")
    async def staff(user: StaffRequired) -> str:
        return user.username

    @app.get("/maybe")
    async def maybe(user: CurrentUser) -> bool:
        return user is not None

    return app


def grant(client: TestClient, **fields: str) -> Any:
    form = {"content-type": "application/x-www-form-urlencoded"}
    return client.post("/token", content=urlencode(fields), headers=form)


def test_password_and_refresh_grants(db_url: str, tmp_path: Path) -> None:
    seed(db_url, new_user("ada"))
    app = make_app(db_url, tmp_path)
    with TestClient(app) as client:  # and with CSRF on: the endpoint needs no CSRF token
        response = grant(client, grant_type="password", username="ada", password="correct horse")
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["pragma"] == "no-cache"
        pair = response.json()
        assert set(pair) == {"access_token", "token_type", "expires_in", "refresh_token"}
        assert pair["token_type"] == "bearer"
        headers = {"Authorization": f"Bearer {pair['access_token']}"}
        assert client.get("/notes", headers=headers).json() == {"user": "ada"}
        # A full token may write (no scopes: all the user may).
        assert client.post("/notes", headers=headers).status_code == 200
        scoped = grant(
            client,
            grant_type="password",
            username="ada",
            password="correct horse",
            scope="notes:read",
        ).json()
        assert scoped["scope"] == "notes:read"
        refused = client.post(
            "/notes", headers={"Authorization": f"Bearer {scoped['access_token']}"}
        )
        assert refused.status_code == 403
        # The refresh grant rotates; a reused refresh token is an invalid_grant.
        renewed = grant(client, grant_type="refresh_token", refresh_token=scoped["refresh_token"])
        assert renewed.status_code == 200
        assert renewed.json()["scope"] == "notes:read"
        reused = grant(client, grant_type="refresh_token", refresh_token=scoped["refresh_token"])
        assert reused.status_code == 400
        assert reused.json() == {
            "error": "invalid_grant",
            "error_description": (
                "The refresh token was already used: every token of its login is revoked"
            ),
        }


ERRORS: list[tuple[dict[str, str], str, str | None]] = [
    ({}, "invalid_request", "The grant_type field is missing"),
    (
        {"grant_type": "client_credentials"},
        "unsupported_grant_type",
        "The grant type 'client_credentials' is not supported: use password or refresh_token",
    ),
    ({"grant_type": "password", "username": "ada"}, "invalid_request", None),
    ({"grant_type": "password", "username": "ada", "password": "wrong"}, "invalid_grant", None),
    ({"grant_type": "password", "username": "nobody", "password": "x"}, "invalid_grant", None),
    (
        {"grant_type": "password", "username": "ada", "password": "correct horse", "scope": "x"},
        "invalid_scope",
        "Unknown scope(s): x",
    ),
    ({"grant_type": "refresh_token"}, "invalid_request", "The refresh_token field is missing"),
    ({"grant_type": "refresh_token", "refresh_token": "nope"}, "invalid_grant", None),
]


def test_rfc6749_errors(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"
    seed(db_url, new_user("ada"))
    with TestClient(make_app(db_url, tmp_path)) as client:
        for fields, error, description in ERRORS:
            response = grant(client, **fields)
            assert response.status_code == 400, fields
            assert response.headers["content-type"] == "application/json"
            assert response.headers["cache-control"] == "no-store"
            body = response.json()
            assert body["error"] == error, fields
            if description is not None:
                assert body["error_description"] == description


def test_the_token_endpoint_wants_a_form(tmp_path: Path) -> None:
    app = make_app(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}", tmp_path)
    with TestClient(app) as client:
        response = client.post("/token", json={"grant_type": "password"})
        assert response.status_code == 415
        assert "application/x-www-form-urlencoded" in response.json()["detail"]


def test_the_token_endpoint_is_rate_limited(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"
    seed(db_url, new_user("ada"))
    with TestClient(make_app(db_url, tmp_path, limit="2/minute")) as client:
        for _ in range(2):
            assert (
                grant(client, grant_type="password", username="ada", password="x").status_code
                == 400
            )
        # A sliding window: the 3rd attempt is refused, or the 4th if a window's edge fell
        # between them (the previous window then weighs a little less).
        refused = grant(client, grant_type="password", username="ada", password="correct horse")
        if refused.status_code != 429:
            refused = grant(client, grant_type="password", username="ada", password="x")
        assert refused.status_code == 429
        assert refused.json()["error"] == "invalid_request"
        assert int(refused.headers["retry-after"]) > 0


def test_openapi_security_schemes(tmp_path: Path) -> None:
    app = make_app(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}", tmp_path)
    document = openapi_schema(app)
    validate(document)
    schemes = document["components"]["securitySchemes"]
    assert schemes["oauth2"] == {
        "type": "oauth2",
        "flows": {"password": {"tokenUrl": "/token", "refreshUrl": "/token", "scopes": SCOPES}},
    }
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert schemes["apiKey"]["in"] == "header"
    assert schemes["apiKey"]["name"] == "X-API-Key"
    assert schemes["session"]["name"] == "sid"
    paths = document["paths"]
    every = ["session", "oauth2", "bearer", "apiKey"]
    assert paths["/notes"]["get"]["security"] == [{name: []} for name in every]
    assert paths["/notes"]["post"]["security"] == [{name: ["notes:write"]} for name in every]
    assert paths["/notes"]["delete"]["security"] == [
        {name: [] if name == "oauth2" else ["notes.delete_note"]} for name in every
    ]
    assert paths["/staff"]["get"]["security"] == [{name: ["staff"]} for name in every]
    for method, path in (("post", "/notes"), ("delete", "/notes")):
        assert {"401", "403"} <= set(paths[path][method]["responses"])
    assert "security" not in paths["/maybe"]["get"]
    token = paths["/token"]["post"]
    assert "security" not in token
    form = token["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    fields = set(
        form.get("properties")
        or document["components"]["schemas"][form["$ref"].rsplit("/", 1)[1]]["properties"]
    )
    assert {"grant_type", "username", "password", "scope", "refresh_token"} <= fields
    assert token["responses"]["400"]["content"]["application/json"]


def test_the_bearer_scheme_named_token_is_an_authorization_header(tmp_path: Path) -> None:
    app = App()
    Sessions(app, secret_key=SECRET)
    db = Database(app, f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}")
    Auth(app, db, secret_key=SECRET).add_tokens(scheme="Token", api_key_header="X-Key")

    @app.get("/me")
    async def me(user: LoginRequired) -> str:
        return user.username

    document = openapi_schema(app)
    validate(document)
    schemes = document["components"]["securitySchemes"]
    assert schemes["token"]["type"] == "apiKey"
    assert schemes["token"]["name"] == "Authorization"
    assert schemes["apiKey"]["name"] == "X-Key"
    assert "oauth2" not in schemes  # no token endpoint
    assert document["paths"]["/me"]["get"]["security"] == [
        {"session": []},
        {"token": []},
        {"apiKey": []},
    ]
