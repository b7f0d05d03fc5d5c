"""plait's auth: users with Argon2 passwords, logins kept in the session, groups, permissions.

::

    from typing import Annotated

    from plait import App, Form, HTTPException, Request
    from plait.auth import Auth, LoginRequired, authenticate, login
    from plait.db import Database, Session
    from plait.sessions import Sessions

    app = App()
    Sessions(app)
    db = Database(app)
    Auth(app, db)

    @app.post("/login")
    async def do_login(
        request: Request,
        session: Session,
        username: Annotated[str, Form()],
        password: Annotated[str, Form()],
    ) -> dict:
        user = await authenticate(session, username, password)
        if user is None:
            raise HTTPException(400, "Wrong username or password")
        await login(request, user)
        return {"ok": True}

    @app.get("/account")
    async def account(user: LoginRequired) -> dict:
        return {"username": user.username}

Needs ``pip install 'plait[auth]'`` (argon2-cffi) and ``plait[db]``; ``plait createsuperuser``
creates the first administrator.
"""

from plait._optional import require

require("argon2", "auth", "plait.auth")
require("jwt", "auth", "plait.auth")

from plait.auth._auth import HASH_SESSION_KEY, SESSION_KEY, Auth, AuthMiddleware  # noqa: E402
from plait.auth._credentials import Credentials, credentials_of  # noqa: E402
from plait.auth._dependencies import CurrentUser, LoginRequired, StaffRequired  # noqa: E402
from plait.auth._jwt import JWTKey  # noqa: E402
from plait.auth._login import authenticate, has_perm, login, logout, safe_next  # noqa: E402
from plait.auth._models import Group, Permission, User  # noqa: E402
from plait.auth._passwords import hash_password, needs_rehash, verify_password  # noqa: E402
from plait.auth._permissions import require_perm, require_scopes  # noqa: E402
from plait.auth._stored import TokenPair  # noqa: E402
from plait.auth._tokenmodels import APIKey, RefreshToken, Token  # noqa: E402
from plait.auth._tokens import Tokens  # noqa: E402

__all__ = [
    "HASH_SESSION_KEY",
    "SESSION_KEY",
    "APIKey",
    "Auth",
    "AuthMiddleware",
    "Credentials",
    "CurrentUser",
    "Group",
    "JWTKey",
    "LoginRequired",
    "Permission",
    "RefreshToken",
    "StaffRequired",
    "Token",
    "TokenPair",
    "Tokens",
    "User",
    "authenticate",
    "credentials_of",
    "has_perm",
    "hash_password",
    "login",
    "logout",
    "needs_rehash",
    "require_perm",
    "require_scopes",
    "safe_next",
    "verify_password",
]
