"""``CurrentUser``, ``LoginRequired`` and ``StaffRequired``: handler parameter types."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from plait import App, Depends, HTTPException, Request, Security
from plait._negotiation import prefers_html as accepts_html
from plait.auth._auth import Auth, LoginRedirect, auth_of
from plait.auth._credentials import Credentials, unauthorized
from plait.auth._models import User
from plait.sessions import SessionData

__all__ = [
    "CurrentUser",
    "LoginRequired",
    "SessionLogin",
    "StaffRequired",
    "current_user",
    "login_alternatives",
    "login_required",
    "prefers_html",
    "staff_required",
]


def prefers_html(request: Request) -> bool:
    """Whether the client asked for HTML over JSON (a browser, not an API client)."""
    return accepts_html(request.headers.get("accept", ""))


def challenge(auth: Auth) -> str:
    """The ``WWW-Authenticate`` challenge of the app's logins: its token scheme, if any."""
    return auth.tokens.scheme if auth.tokens is not None else "Session"


async def current_user(request: Request) -> User | None:
    """The dependency behind :data:`CurrentUser`."""
    auth = auth_of(request)  # a clear error when Auth(app, db) is missing
    credentials = request.scope.get("auth")
    if isinstance(credentials, Credentials) and credentials.error is not None:
        # A credential was presented and refused: say so, even where anonymous is fine.
        raise unauthorized(challenge(auth), credentials.error, "invalid_token")
    session = request.scope.get("session")
    if credentials is None and isinstance(session, SessionData):
        session.accessed = True  # the response depends on who is logged in: Vary: Cookie
    user = request.scope.get("user")
    return user if isinstance(user, User) else None


def login_alternatives(app: App) -> list[tuple[str, dict[str, Any]]]:
    """The ways to log in to ``app``, as OpenAPI security schemes (name, scheme), any one of
    which a route needing a login accepts: the session cookie, and with
    :meth:`Auth.add_tokens` the OAuth2 password flow (when there is a token endpoint), the
    token in the ``Authorization`` header and the API key header."""
    sessions = getattr(app.state, "sessions", None)
    found: list[tuple[str, dict[str, Any]]] = [
        (
            "session",
            {
                "type": "apiKey",
                "in": "cookie",
                "name": getattr(sessions, "cookie_name", "plait_session"),
                "description": "The session cookie set by logging in (plait.auth).",
            },
        )
    ]
    auth = getattr(app.state, "auth", None)
    if isinstance(auth, Auth) and auth.tokens is not None:
        found.extend(auth.tokens.openapi_schemes())
    return found


class SessionLogin:
    """The app's logins as OpenAPI security schemes: the dependencies behind
    :data:`LoginRequired` and :data:`StaffRequired` are its methods, so the document shows
    the routes needing a login, with their 401 (and the staff role's 403)."""

    def openapi_security_alternatives(self, app: App) -> list[tuple[str, dict[str, Any]]]:
        return login_alternatives(app)

    async def login_required(self, request: Request, user: CurrentUser) -> User:
        """The dependency behind :data:`LoginRequired`."""
        if user is not None:
            return user
        if prefers_html(request):
            query = request.scope.get("query_string", b"").decode("latin-1")
            target = request.scope["path"] + (f"?{query}" if query else "")
            separator = "&" if "?" in auth_of(request).login_url else "?"
            location = f"{auth_of(request).login_url}{separator}next={quote(target, safe='/')}"
            raise LoginRedirect(location)
        raise unauthorized(challenge(auth_of(request)), "Authentication required: log in first")

    async def staff_required(self, user: LoginRequired) -> User:
        """The dependency behind :data:`StaffRequired`."""
        if not user.is_staff:
            raise HTTPException(403, "Staff only")
        return user


_SESSION_LOGIN = SessionLogin()
login_required = _SESSION_LOGIN.login_required
staff_required = _SESSION_LOGIN.staff_required


CurrentUser = Annotated[User | None, Depends(current_user)]
"""The logged-in user, or ``None``::

    @app.get("/")
    async def home(user: CurrentUser) -> dict:
        return {"user": user.username if user else None}
"""

LoginRequired = Annotated[User, Depends(login_required)]
"""The logged-in user; otherwise browsers (``Accept: text/html``) are redirected (303) to
the login URL with ``?next=<this path>``, and API clients get a 401 problem::

    @app.get("/account")
    async def account(user: LoginRequired) -> dict:
        return {"username": user.username}
"""

StaffRequired = Annotated[User, Security(staff_required, scopes=["staff"])]
"""A logged-in user with ``is_staff``; other users get a 403 problem (in OpenAPI: the
``session`` scheme with the ``staff`` role)."""
