"""LoginRequired and StaffRequired in the OpenAPI document: a session-cookie security scheme
and the 401 (and 403) they answer."""

from __future__ import annotations

from pathlib import Path

from auth_services import SECRET
from openapi_spec_validator import validate

from plait import App
from plait.auth import Auth, CurrentUser, LoginRequired, StaffRequired
from plait.db import Database
from plait.openapi import openapi_schema
from plait.sessions import Sessions


def test_login_required_documents_its_401(tmp_path: Path) -> None:
    app = App()
    Sessions(app, secret_key=SECRET, cookie_name="sid")
    Auth(app, Database(app, f"sqlite:///{tmp_path / 'db.sqlite3'}"), secret_key=SECRET)

    @app.get("/me")
    def me(user: LoginRequired) -> dict[str, str]:
        return {"username": user.username}

    @app.get("/staff")
    def staff(user: StaffRequired) -> dict[str, str]:
        return {"username": user.username}

    @app.get("/maybe")
    def maybe(user: CurrentUser) -> dict[str, bool]:
        return {"signed_in": user is not None}

    document = openapi_schema(app)
    validate(document)
    me_get = document["paths"]["/me"]["get"]
    assert me_get["responses"]["401"]["content"]["application/problem+json"]
    assert me_get["security"] == [{"session": []}]
    staff_get = document["paths"]["/staff"]["get"]
    assert {"401", "403"} <= set(staff_get["responses"])
    assert staff_get["security"] == [{"session": ["staff"]}]  # a role (OpenAPI 3.1)
    maybe_get = document["paths"]["/maybe"]["get"]
    assert "401" not in maybe_get["responses"]  # anonymous is fine there
    assert "security" not in maybe_get
    assert document["components"]["securitySchemes"]["session"] == {
        "type": "apiKey",
        "in": "cookie",
        "name": "sid",
        "description": "The session cookie set by logging in (plait.auth).",
    }
