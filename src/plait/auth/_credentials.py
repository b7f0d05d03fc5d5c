"""``Credentials``: what authenticated a request, and the 401 that refuses one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from plait import HTTPConnection, HTTPException

__all__ = ["Credentials", "Method", "credentials_of", "unauthorized"]

Method = Literal["session", "jwt", "token", "api_key"]


class Credentials:
    """How the request's user came in (``request.scope["auth"]``; see :func:`credentials_of`).

    ``method`` is ``"session"`` (the cookie), ``"jwt"`` (a signed access token), ``"token"``
    (an opaque token) or ``"api_key"``. ``scopes`` is ``None`` when the credential may do
    all its user may (a session, a token made without scopes), else the granted scopes.
    ``error`` says why a presented credential was refused (the user is then anonymous and
    the auth dependencies answer 401). ``claims`` are a JWT's verified claims; ``token_id``
    is the stored token's or key's id.
    """

    __slots__ = ("claims", "error", "method", "scopes", "token_id")

    def __init__(
        self,
        method: Method,
        *,
        scopes: Iterable[str] | None = None,
        claims: Mapping[str, Any] | None = None,
        error: str | None = None,
        token_id: int | None = None,
    ) -> None:
        self.method: Method = method
        self.scopes = frozenset(scopes) if scopes is not None else None
        self.claims = claims
        self.error = error
        self.token_id = token_id

    def has_scopes(self, *scopes: str) -> bool:
        """Whether the credential grants every one of ``scopes``."""
        return self.scopes is None or self.scopes.issuperset(scopes)

    def __repr__(self) -> str:
        return f"<Credentials {self.method} scopes={self.scopes} error={self.error!r}>"


_SESSION = Credentials("session")


def credentials_of(connection: HTTPConnection) -> Credentials:
    """How ``connection``'s user authenticated (a session's, or nobody's, is ``"session"``)::

    if credentials_of(request).method == "api_key": ...
    """
    found = connection.scope.get("auth")
    return found if isinstance(found, Credentials) else _SESSION


def unauthorized(challenge: str, detail: str, error: str | None = None) -> HTTPException:
    """A 401 problem with ``WWW-Authenticate: <challenge>`` (RFC 6750's ``error=`` and
    ``error_description=`` when a presented credential was refused)."""
    header = challenge
    if error is not None:
        description = detail.replace("\\", "").replace('"', "'")
        header = f'{challenge} error="{error}", error_description="{description}"'
    return HTTPException(401, detail, headers={"WWW-Authenticate": header})
