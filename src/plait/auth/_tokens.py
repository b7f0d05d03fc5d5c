"""``Tokens``: API clients authenticate with ``Authorization: Bearer <token>`` (or ``Token``)."""

from __future__ import annotations

import datetime
import hmac
import logging
import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar, Unpack

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from plait import App
from plait.auth._credentials import Credentials, Method, unauthorized
from plait.auth._jwt import JWTCodec, JWTKey, TokenError
from plait.auth._models import User
from plait.auth._stored import (
    RefreshReused,
    TokenPair,
    check_api_key,
    check_opaque,
    create_api_key,
    create_token,
    issue_refresh,
    rotate_refresh,
    split_scopes,
)
from plait.auth._tokenmodels import APIKey, RefreshToken, Token
from plait.types import Scope

if TYPE_CHECKING:
    from plait.auth._auth import Auth

__all__ = ["TokenOptions", "Tokens"]

_USER_HASH_CLAIM = "uh"
logger = logging.getLogger("plait.auth")
StoredT = TypeVar("StoredT", Token, APIKey)


class TokenOptions(TypedDict, total=False):
    """The options of :class:`Tokens` and :meth:`Auth.add_tokens`, listed once.

    ``scheme`` (``"Bearer"``) names the ``Authorization`` scheme; ``keys`` sign and verify
    access tokens (default: an HS256 key derived from the ``SECRET_KEY``); ``lifetime``
    (15 minutes) and ``refresh_lifetime`` (14 days) bound the tokens; ``audience``,
    ``issuer`` and ``leeway`` (0 seconds) go to the JWT checks; ``api_key_header``
    (``"X-API-Key"``) carries API keys.
    """

    scheme: str
    keys: Sequence[JWTKey] | None
    lifetime: datetime.timedelta
    audience: str | None
    issuer: str | None
    leeway: float
    refresh_lifetime: datetime.timedelta
    api_key_header: str


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

    def __init__(self, auth: Auth, **options: Unpack[TokenOptions]) -> None:
        unknown = options.keys() - TokenOptions.__optional_keys__
        if unknown:
            raise TypeError(f"unknown token options: {', '.join(sorted(unknown))}")
        scheme = options.get("scheme", "Bearer")
        lifetime = options.get("lifetime", datetime.timedelta(minutes=15))
        api_key_header = options.get("api_key_header", "X-API-Key")
        if not scheme or not scheme.isascii() or not scheme.replace("-", "").isalnum():
            raise ValueError(f"an Authorization scheme is one word, like 'Bearer': {scheme!r}")
        if lifetime <= datetime.timedelta(0):
            raise ValueError("the access token lifetime must be positive")
        self.auth = auth
        self.scheme = scheme
        self._prefix = scheme.lower().encode("latin-1") + b" "
        keys = options.get("keys")
        self.jwt = JWTCodec(
            [JWTKey.derived(auth.secret)] if keys is None else keys,
            audience=options.get("audience"),
            issuer=options.get("issuer"),
            leeway=options.get("leeway", 0),
        )
        self.lifetime = lifetime
        self.refresh_lifetime = options.get("refresh_lifetime", datetime.timedelta(days=14))
        self.api_key_header = api_key_header
        self._key_header = api_key_header.lower().encode("latin-1")
        self.token_url: str | None = None
        self.scope_descriptions: dict[str, str] = {}

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

    async def issue(
        self, session: AsyncSession, user: User, *, scopes: Iterable[str] | None = None
    ) -> TokenPair:
        """An access token and a refresh token for ``user``, as an OAuth2 token response
        (a new login: the refresh token starts a family of its own)::

            return await tokens.issue(session, user)   # {"access_token": ..., ...}

        The refresh token is stored (hashed) in ``session``, which commits with the request.
        """
        return await self._pair(session, user, family=None, scopes=scopes)

    async def _pair(
        self,
        session: AsyncSession,
        user: User,
        *,
        family: str | None,
        scopes: Iterable[str] | None,
    ) -> TokenPair:
        scopes = sorted(set(scopes)) if scopes is not None else None
        refresh = await issue_refresh(
            session,
            user,
            family=family,
            scopes=scopes,
            lifetime=self.refresh_lifetime,
            user_hash=self._user_hash(user),
        )
        return TokenPair(
            access_token=self.access_token(user, scopes=scopes),
            token_type=self.scheme.lower(),
            expires_in=int(self.lifetime.total_seconds()),
            refresh_token=refresh,
            scope=" ".join(scopes) if scopes else None,
        )

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Spend ``refresh_token``: a new access token and the next refresh token of its
        family (rotation). A refused one is a 401 problem. Using a refresh token a second
        time — a thief's or the victim's copy, whoever comes second — revokes its whole
        family, so the thief's tokens die with the victim's next refresh; the revocation is
        committed in a transaction of its own, though the request fails.
        """
        try:
            return await self.refresh_or_raise(refresh_token)
        except TokenError as exc:
            raise unauthorized(self.scheme, str(exc), "invalid_token") from None

    async def refresh_or_raise(self, refresh_token: str) -> TokenPair:
        """:meth:`refresh`, raising :class:`TokenError` (RFC 6749's ``invalid_grant``)."""
        try:
            user, row = await rotate_refresh(self.auth.db, refresh_token, self._user_hash)
        except RefreshReused:
            logger.warning("A refresh token was used twice: its family is revoked")
            raise
        async with self.auth.db.transaction() as session:
            scopes = split_scopes(row.scopes) if row.scopes is not None else None
            return await self._pair(session, user, family=row.family, scopes=scopes)

    # ------------------------------------------------------------------ stored tokens

    async def create_token(
        self,
        session: AsyncSession,
        user: User,
        *,
        name: str = "",
        scopes: Iterable[str] | None = None,
        lifetime: datetime.timedelta | None = None,
    ) -> tuple[str, Token]:
        """A new opaque token for ``user``: the secret (show it once: only its digest is
        kept) and its :class:`Token` row (for listing and revoking). Without ``lifetime``
        it lasts until revoked; without ``scopes`` it may do all its user may."""
        return await create_token(session, user, name=name, scopes=scopes, lifetime=lifetime)

    async def create_api_key(
        self,
        session: AsyncSession,
        user: User,
        *,
        name: str = "",
        scopes: Iterable[str] = (),
        lifetime: datetime.timedelta | None = None,
    ) -> tuple[str, APIKey]:
        """A new API key acting as ``user``: ``"<prefix>.<secret>"`` (show it once) and its
        :class:`APIKey` row. It may do only what ``scopes`` grant."""
        return await create_api_key(session, user, name=name, scopes=scopes, lifetime=lifetime)

    async def user_credentials(
        self, session: AsyncSession, user: User, kind: type[StoredT]
    ) -> list[StoredT]:
        """``user``'s tokens (``kind=Token``) or API keys (``kind=APIKey``), newest first."""
        query = sa.select(kind).where(kind.user_id == user.id)
        return list(await session.scalars(query.order_by(kind.id.desc())))

    async def revoke(
        self, session: AsyncSession, user: User, kind: type[StoredT], credential_id: int
    ) -> bool:
        """Revoke (delete) ``user``'s token or API key ``credential_id``; False when the user
        has none with that id (another user's is not theirs to revoke)."""
        deleted = await session.execute(
            sa.delete(kind).where(kind.id == credential_id, kind.user_id == user.id)
        )
        return bool(deleted.rowcount)  # type: ignore[attr-defined]

    async def revoke_all(self, session: AsyncSession, user: User) -> None:
        """End every stored credential of ``user``: opaque tokens, API keys and refresh
        token families (its JWT access tokens end with :func:`~plait.auth.logout` or a
        password change)."""
        for kind in (Token, APIKey):
            await session.execute(sa.delete(kind).where(kind.user_id == user.id))
        await session.execute(
            sa.update(RefreshToken).where(RefreshToken.user_id == user.id).values(revoked=True)
        )

    # ------------------------------------------------------------------ checking

    def credential_of(self, scope: Scope) -> str | None:
        """The request's credential: the token of an ``Authorization`` header using this
        scheme, or the API key header's value."""
        value = _header(scope, b"authorization")
        if value is not None and value[: len(self._prefix)].lower() == self._prefix:
            return value[len(self._prefix) :].strip().decode("latin-1")
        key = _header(scope, self._key_header)
        return key.strip().decode("latin-1") if key is not None else None

    def carries_credentials(self, scope: Scope) -> bool:
        """Whether the request authenticates by token (so it needs no CSRF check)."""
        return self.credential_of(scope) is not None

    async def authenticate(self, scope: Scope, session: AsyncSession | None = None) -> bool:
        """Whether the request carries a credential; if so ``scope["user"]`` is its user
        when it is good, and ``scope["auth"]`` the :class:`Credentials` (with ``error`` when
        it is not). A JWT has two dots, an API key one, an opaque token none. The user is
        loaded in ``session`` (plait.auth's middleware passes the request's, see
        :meth:`plait.db.Database.lend_session`), else in a session of its own."""
        credential = self.credential_of(scope)
        if credential is None:
            return False
        if session is None:
            async with self.auth.db.session() as own:
                return await self.authenticate(scope, own)
        dots = credential.count(".")
        method: Method = "jwt" if dots == 2 else "api_key" if dots == 1 else "token"
        try:
            if method == "jwt":
                user, credentials = await self._check_jwt(credential, session)
            elif method == "api_key":
                user, credentials = await check_api_key(self.auth.db, credential, session)
            elif credential:
                user, credentials = await check_opaque(self.auth.db, credential, session)
            else:
                raise TokenError("The token is missing")
        except TokenError as exc:
            scope["auth"] = Credentials(method, error=str(exc))
            return True
        scope["auth"] = credentials
        scope["user"] = user
        return True

    async def _check_jwt(self, token: str, session: AsyncSession) -> tuple[User, Credentials]:
        claims = self.jwt.decode(token)
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject.isdigit():
            raise TokenError("The token is invalid")
        user = await session.get(User, int(subject))
        if user is None or not user.is_active:
            raise TokenError("The token's user is inactive or gone")
        if not hmac.compare_digest(str(claims.get(_USER_HASH_CLAIM, "")), self._user_hash(user)):
            raise TokenError("The token was revoked (password change or logout)")
        scope = claims.get("scope")
        scopes = scope.split() if isinstance(scope, str) else None
        return user, Credentials("jwt", scopes=scopes, claims=claims)

    # ------------------------------------------------------------------ app wiring

    def add_token_endpoint(
        self,
        path: str = "/token",
        *,
        scopes: Mapping[str, str] | None = None,
        limit: str | None = "5/minute",
    ) -> None:
        """Add an OAuth2 token endpoint (RFC 6749) at ``POST path``, route name ``token``::

            tokens.add_token_endpoint("/api/token", scopes={"notes:write": "Write notes"})

        It speaks the password grant (form fields ``grant_type=password``, ``username``,
        ``password``, an optional space-separated ``scope`` among ``scopes``) and the
        refresh-token grant (``grant_type=refresh_token``, ``refresh_token``), answers
        :class:`TokenPair` JSON with ``Cache-Control: no-store``, and RFC 6749 error bodies
        (``{"error": "invalid_grant", "error_description": ...}``, 400). The OpenAPI
        document then has the OAuth2 password flow, so Swagger UI's Authorize button logs in.
        Attempts are rate limited per client address (``limit``; ``None``: off), as the
        log-in page's are; it needs no CSRF token.
        """
        from plait.auth._endpoint import add_token_endpoint

        add_token_endpoint(self, self.auth.app, path, scopes or {}, limit)

    def openapi_schemes(self) -> list[tuple[str, dict[str, Any]]]:
        """The OpenAPI security schemes of token logins (see ``login_alternatives``)."""
        found: list[tuple[str, dict[str, Any]]] = []
        if self.token_url is not None:
            flow = {"tokenUrl": self.token_url, "refreshUrl": self.token_url}
            flow["scopes"] = dict(self.scope_descriptions)  # type: ignore[assignment]
            found.append(("oauth2", {"type": "oauth2", "flows": {"password": flow}}))
        if self.scheme.lower() == "bearer":
            header = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
        else:
            header = {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": f"The access token, as `{self.scheme} <token>`.",
            }
        found.append((self.scheme.lower(), header))
        key = {"type": "apiKey", "in": "header", "name": self.api_key_header}
        found.append(("apiKey", {**key, "description": "An API key, as `<prefix>.<secret>`."}))
        return found

    def exempt_from_csrf(self, app: App) -> None:
        """Start-up: token requests skip the app's CSRF check (when it has one)."""
        csrf = getattr(app.state, "csrf", None)
        if csrf is None:
            return
        from plait.csrf import CSRF

        if isinstance(csrf, CSRF):
            csrf.exempt_requests(self.carries_credentials)
