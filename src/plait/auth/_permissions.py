"""``require_scopes(...)`` and ``require_perm(...)``: dependencies that answer 401 and 403."""

from __future__ import annotations

from typing import Any

from plait import App, HTTPException, Request
from plait.auth._auth import auth_of
from plait.auth._credentials import credentials_of
from plait.auth._dependencies import LoginRequired, challenge, login_alternatives
from plait.auth._login import has_perm
from plait.auth._models import User

__all__ = ["require_perm", "require_scopes"]

_NO_PERMISSION = "You do not have permission to perform this action."
"""Django REST framework's words for a 403."""


class _Requirement:
    """What both dependencies share: a login (in OpenAPI: the app's login schemes), and a
    repr naming what they require."""

    _required: tuple[str, ...]

    def openapi_security_alternatives(self, app: App) -> list[tuple[str, dict[str, Any]]]:
        return login_alternatives(app)

    def __repr__(self) -> str:
        return f"{type(self).__name__}{self._required!r}"


class require_scopes(_Requirement):
    """A logged-in user whose credential grants every one of ``scopes``::

        @app.post("/articles")
        async def create(user: Annotated[User, Depends(require_scopes("articles:write"))]):
            ...

    Scopes limit tokens and API keys (``tokens.access_token(user, scopes=[...])``,
    ``create_api_key(..., scopes=[...])``); a session login, or a token made without
    scopes, may do all its user may. Nobody logged in: 401 (a browser goes to the login
    page). A credential without a scope: 403 problem with RFC 6750's
    ``WWW-Authenticate: Bearer error="insufficient_scope", scope="..."``. In OpenAPI the
    route requires the scopes of each login scheme.
    """

    def __init__(self, *scopes: str) -> None:
        if not scopes or any(not s or " " in s for s in scopes):
            raise ValueError(f"require_scopes needs scope names without spaces: {scopes!r}")
        self.scopes = self._required = tuple(scopes)

    async def __call__(self, request: Request, user: LoginRequired) -> User:
        credentials = credentials_of(request)
        if not credentials.has_scopes(*self.scopes):
            missing = " ".join(s for s in self.scopes if s not in (credentials.scopes or ()))
            scheme = challenge(auth_of(request))
            raise HTTPException(
                403,
                f"The credential lacks the scope(s): {missing}",
                headers={
                    "WWW-Authenticate": (
                        f'{scheme} error="insufficient_scope", scope="{" ".join(self.scopes)}"'
                    )
                },
                extra={"required_scopes": list(self.scopes)},
            )
        return user

    @property
    def openapi_scopes(self) -> list[str]:
        return list(self.scopes)


class require_perm(_Requirement):
    """A logged-in user with every one of ``perms`` (Django's ``"app_label.codename"``
    names, checked as :func:`~plait.auth.has_perm` does: directly, through groups, or as a
    superuser)::

        @app.delete("/posts/{id}")
        async def delete(id: int, user: Annotated[User, Depends(require_perm("blog.delete_post"))]):
            ...

    Nobody logged in: 401; a user without the permission: 403 problem, "You do not have
    permission to perform this action."
    """

    def __init__(self, *perms: str) -> None:
        if not perms or any(perm.count(".") < 1 for perm in perms):
            raise ValueError(f"permissions are named 'app_label.codename': {perms!r}")
        self.perms = self._required = tuple(perms)

    async def __call__(self, request: Request, user: LoginRequired) -> User:
        async with auth_of(request).db.session() as session:
            for perm in self.perms:
                if not await has_perm(session, user, perm):
                    raise HTTPException(403, _NO_PERMISSION, extra={"required_perm": perm})
        return user

    @property
    def openapi_roles(self) -> list[str]:
        return list(self.perms)
