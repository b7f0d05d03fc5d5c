"""``Tokens``: API clients authenticate with ``Authorization: Bearer <token>`` (or ``Token``)."""

from __future__ import annotations

import datetime
import hmac
import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from plait import App
from plait.auth._credentials import Credentials
from plait.auth._jwt import JWTCodec, JWTKey, TokenError
from plait.auth._models import User
from plait.types import Scope

if TYPE_CHECKING:
    from plait.auth._auth import Auth

__all__ = ["Tokens"]

_USER_HASH_CLAIM = "uh"


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


class Tokens:
    """Token logins for API clients and mobile apps, made by :meth:`Auth.add_tokens`::

        auth = Auth(app, db)
        tokens = auth.add_tokens(scheme="Bearer", lifetime=datetime.timedelta(minutes=15))

        @app.post("/api/login")
        async def api_login(session: Session, data: Credentials) -> dict:
            user = await authenticate(session, data.username, data.password)
            if user is None:
                raise HTTPException(400, "Wrong username or password")
            return {"access_token": tokens.access_token(user)}

    A request with ``Authorization: <scheme> <token>`` is the token's user's: ``CurrentUser``,
    ``LoginRequired`` and the rest work as for a session login. Such a request is
    authenticated by its token alone — never by a session cookie it also carries — so it
    skips CSRF (a browser never adds the header by itself); a refused token is a 401
    problem with ``WWW-Authenticate``, on every route that asks who the user is.

    Access tokens are JWTs signed with the first of ``keys`` (by default an HS256 key derived
    from the ``SECRET_KEY``); any of ``keys`` verifies, picked by the token's ``kid``, each
    with its own algorithm only. They expire after ``lifetime`` and carry ``sub`` (the user's
    id), ``iat``, ``nbf``, ``exp``, ``jti``, ``aud``/``iss`` when configured and a digest of
    the user's password hash and session generation: a password change or a
    :func:`~plait.auth.logout` ends every token issued before it.
    """

    scheme_name = "bearer"
    """The OpenAPI security scheme's name."""

    def __init__(
        self,
        auth: Auth,
        *,
        scheme: str = "Bearer",
        keys: Sequence[JWTKey] | None = None,
        lifetime: datetime.timedelta = datetime.timedelta(minutes=15),
        audience: str | None = None,
        issuer: str | None = None,
        leeway: float = 0,
    ) -> None:
        if not scheme or not scheme.isascii() or not scheme.replace("-", "").isalnum():
            raise ValueError(f"an Authorization scheme is one word, like 'Bearer': {scheme!r}")
        if lifetime <= datetime.timedelta(0):
            raise ValueError("the access token lifetime must be positive")
        self.auth = auth
        self.scheme = scheme
        self._prefix = scheme.lower().encode("latin-1") + b" "
        if keys is None:
            keys = [JWTKey.derived(auth.secret)]
        self.jwt = JWTCodec(keys, audience=audience, issuer=issuer, leeway=leeway)
        self.lifetime = lifetime

    # ------------------------------------------------------------------ issuing

    def access_token(
        self,
        user: User,
        *,
        scopes: Iterable[str] | None = None,
        lifetime: datetime.timedelta | None = None,
        claims: Mapping[str, Any] | None = None,
    ) -> str:
        """A signed access token for ``user`` (a JWT), valid for ``lifetime`` (the default
        one otherwise). ``scopes`` limit what it may do (the OAuth2 ``scope`` claim);
        ``claims`` adds claims of your own."""
        if user.id is None:
            raise ValueError("the user has no id yet: flush the session first")
        now = datetime.datetime.now(datetime.UTC)
        payload: dict[str, Any] = dict(claims or {})
        payload.update(
            sub=str(user.id),
            iat=now,
            nbf=now,
            exp=now + (lifetime or self.lifetime),
            jti=secrets.token_urlsafe(12),
        )
        payload[_USER_HASH_CLAIM] = self._user_hash(user)
        if scopes is not None:
            payload["scope"] = " ".join(sorted(set(scopes)))
        return self.jwt.encode(payload)

    def _user_hash(self, user: User) -> str:
        return self.auth.session_hash(user)[:22]

    # ------------------------------------------------------------------ checking

    def credential_of(self, scope: Scope) -> str | None:
        """The token in the request's ``Authorization`` header, if it uses this scheme."""
        value = _header(scope, b"authorization")
        if value is None or value[: len(self._prefix)].lower() != self._prefix:
            return None
        return value[len(self._prefix) :].strip().decode("latin-1")

    def carries_credentials(self, scope: Scope) -> bool:
        """Whether the request authenticates by token (so it needs no CSRF check)."""
        return self.credential_of(scope) is not None

    async def authenticate(self, scope: Scope, token: str) -> None:
        """Check ``token``: ``scope["user"]`` is its user when it is good, and
        ``scope["auth"]`` the :class:`Credentials` (with ``error`` when it is not)."""
        try:
            user, credentials = await self._check_jwt(token)
        except TokenError as exc:
            scope["auth"] = Credentials("jwt", error=str(exc))
            return
        scope["auth"] = credentials
        scope["user"] = user

    async def _check_jwt(self, token: str) -> tuple[User, Credentials]:
        claims = self.jwt.decode(token)
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject.isdigit():
            raise TokenError("The token is invalid")
        async with self.auth.db.session() as session:
            user = await session.get(User, int(subject))
        if user is None or not user.is_active:
            raise TokenError("The token's user is inactive or gone")
        if not hmac.compare_digest(str(claims.get(_USER_HASH_CLAIM, "")), self._user_hash(user)):
            raise TokenError("The token was revoked (password change or logout)")
        scope = claims.get("scope")
        scopes = scope.split() if isinstance(scope, str) else None
        return user, Credentials("jwt", scopes=scopes, claims=claims)

    # ------------------------------------------------------------------ app wiring

    def openapi_security_scheme(self, app: App) -> dict[str, str]:
        if self.scheme.lower() == "bearer":
            return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": f"The access token, as `{self.scheme} <token>`.",
        }

    def exempt_from_csrf(self, app: App) -> None:
        """Start-up: token requests skip the app's CSRF check (when it has one)."""
        csrf = getattr(app.state, "csrf", None)
        if csrf is None:
            return
        from plait.csrf import CSRF

        if isinstance(csrf, CSRF):
            csrf.exempt_requests(self.carries_credentials)
