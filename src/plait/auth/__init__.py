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
from plait.auth._dependencies import (  # noqa: E402
    CurrentUser,
    LoginRequired,
    StaffRequired,
    login_required,
)
from plait.auth._jwt import JWTKey  # noqa: E402
from plait.auth._login import authenticate, has_perm, login, logout, safe_next  # noqa: E402
from plait.auth._models import Group, Permission, User  # noqa: E402
from plait.auth._passwords import hash_password, needs_rehash, verify_password  # noqa: E402
from plait.auth._permissions import require_perm, require_scopes  # noqa: E402
from plait.auth._reset import ResetTokenInvalid, change_password  # noqa: E402
from plait.auth._stored import TokenPair  # noqa: E402
from plait.auth._tokenmodels import APIKey, RefreshToken, Token  # noqa: E402
from plait.auth._tokens import Tokens  # noqa: E402
from plait.auth._validators import (  # noqa: E402
    CommonPasswordValidator,
    MinimumLengthValidator,
    NumericPasswordValidator,
    PasswordInvalid,
    PasswordValidator,
    UserAttributeSimilarityValidator,
    password_problems,
    validate_password,
)

__all__ = [
    "HASH_SESSION_KEY",
    "SESSION_KEY",
    "APIKey",
    "Auth",
    "AuthMiddleware",
    "CommonPasswordValidator",
    "Credentials",
    "CurrentUser",
    "Group",
    "JWTKey",
    "LoginRequired",
    "MinimumLengthValidator",
    "NumericPasswordValidator",
    "PasswordInvalid",
    "PasswordValidator",
    "Permission",
    "RefreshToken",
    "ResetTokenInvalid",
    "StaffRequired",
    "Token",
    "TokenPair",
    "Tokens",
    "User",
    "UserAttributeSimilarityValidator",
    "authenticate",
    "change_password",
    "credentials_of",
    "has_perm",
    "hash_password",
    "login",
    "login_required",
    "logout",
    "needs_rehash",
    "password_problems",
    "require_perm",
    "require_scopes",
    "safe_next",
    "validate_password",
    "verify_password",
]
