"""``Authorization: Token <jwt>``: signed tokens for the API (PyJWT, HS256).

INTERIM: replaced by plait.auth's token support (issue 17) when it lands.
"""

import datetime
from typing import Any

import jwt

from plait import HTTPException
from plait.auth import User
from plait.db import Database
from plait.types import ASGIApp, Receive, Scope, Send

__all__ = ["TokenMiddleware", "configure", "token_for"]

_KEY: dict[str, Any] = {}
LIFETIME = datetime.timedelta(days=30)


def configure(secret: str, db: Database) -> None:
    _KEY["secret"] = secret
    _KEY["db"] = db


def token_for(user: User) -> str:
    now = datetime.datetime.now(datetime.UTC)
    claims = {"sub": str(user.id), "iat": now, "exp": now + LIFETIME}
    return jwt.encode(claims, _KEY["secret"], algorithm="HS256")


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Token"})


class TokenMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name == b"authorization":
                    scope["user"] = await self._user(value.decode("latin-1"))
        await self.app(scope, receive, send)

    async def _user(self, header: str) -> User:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "token" or not token.strip():
            raise _unauthorized("Use the Token scheme")
        try:
            claims = jwt.decode(token.strip(), _KEY["secret"], algorithms=["HS256"])
            user_id = int(claims["sub"])
        except (jwt.InvalidTokenError, KeyError, ValueError):
            raise _unauthorized("The token is invalid") from None
        async with _KEY["db"].session() as session:
            user = await session.get(User, user_id)
        if user is None or not user.is_active:
            raise _unauthorized("The token is invalid")
        return user
