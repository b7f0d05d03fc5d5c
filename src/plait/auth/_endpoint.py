"""The OAuth2 token endpoint (RFC 6749): the password grant and the refresh-token grant."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated

import msgspec

from plait import App, Form, Request, Response
from plait.auth._jwt import TokenError
from plait.auth._login import authenticate
from plait.auth._stored import TokenPair
from plait.auth._throttle import attempt_rule, ensure_limiter
from plait.ratelimit import RateLimiter

if TYPE_CHECKING:
    from plait.auth._tokens import Tokens

__all__ = ["OAuth2Error", "add_token_endpoint"]

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 5.1


class OAuth2Error(msgspec.Struct, omit_defaults=True):
    """An RFC 6749 (5.2) error body."""

    error: str
    error_description: str | None = None


def _error(error: str, description: str, status: int = 400, **headers: str) -> Response:
    body = msgspec.json.encode(OAuth2Error(error, description))
    return Response(
        body, status_code=status, media_type="application/json", headers={**_NO_STORE, **headers}
    )


def add_token_endpoint(
    tokens: Tokens, app: App, path: str, scopes: Mapping[str, str], limit: str | None
) -> None:
    """Add ``POST path``: see :meth:`Tokens.add_token_endpoint`."""
    from plait.csrf import csrf_exempt

    ensure_limiter(app)
    rule = attempt_rule(limit, "plait.auth.token")
    known = frozenset(scopes)

    @csrf_exempt  # the answer is a token in a body no other site can read; no cookie is set
    async def token(
        request: Request,
        grant_type: Annotated[str, Form()] = "",
        username: Annotated[str, Form()] = "",
        password: Annotated[str, Form()] = "",
        scope: Annotated[str, Form()] = "",
        refresh_token: Annotated[str, Form()] = "",
    ) -> Response:
        """Log in for a token: RFC 6749's password grant (``username``, ``password``, an
        optional ``scope``) and refresh-token grant (``refresh_token``)."""
        if rule is not None:
            decision = await rule.hit(request.scope, RateLimiter.of(app))
            if decision is not None and not decision.allowed:
                wait = f"Too many attempts. Please try again in {decision.reset} seconds."
                return _error("invalid_request", wait, 429, **decision.headers())
        if grant_type == "password":
            return await _password_grant(tokens, username, password, scope, known)
        if grant_type == "refresh_token":
            if not refresh_token:
                return _error("invalid_request", "The refresh_token field is missing")
            try:
                pair = await tokens.refresh_or_raise(refresh_token)
            except TokenError as exc:
                return _error("invalid_grant", str(exc))
            return _answer(pair)
        if not grant_type:
            return _error("invalid_request", "The grant_type field is missing")
        return _error(
            "unsupported_grant_type",
            f"The grant type {grant_type!r} is not supported: use password or refresh_token",
        )

    tokens.token_url = path
    tokens.scope_descriptions = dict(scopes)
    app.add_route(
        path,
        token,
        methods=("POST",),
        name="token",
        response_model=TokenPair,
        responses={
            400: {"model": OAuth2Error, "description": "RFC 6749 error (invalid_grant…)"},
            429: {"model": OAuth2Error, "description": "Too many attempts"},
        },
        tags=["auth"],
    )


async def _password_grant(
    tokens: Tokens, username: str, password: str, scope: str, known: frozenset[str]
) -> Response:
    if not username or not password:
        return _error("invalid_request", "The username and password fields are required")
    wanted = scope.split() or None
    if wanted is not None and not known.issuperset(wanted):
        unknown = " ".join(sorted(set(wanted) - known))
        return _error("invalid_scope", f"Unknown scope(s): {unknown}")
    async with tokens.auth.db.transaction() as session:
        user = await authenticate(session, username, password)
        if user is None:
            return _error("invalid_grant", "Wrong username or password")
        pair = await tokens.issue(session, user, scopes=wanted)
    return _answer(pair)


def _answer(pair: TokenPair) -> Response:
    return Response(msgspec.json.encode(pair), media_type="application/json", headers=_NO_STORE)
