"""``Auth(app, db)``: who the request's user is, from the session, on every request."""

from __future__ import annotations

import datetime
import hashlib
import hmac
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Unpack

from plait import App, HTTPConnection, RedirectResponse, Request, Settings
from plait.auth._models import User
from plait.auth._validators import DEFAULT_VALIDATORS, PasswordValidator, validate_password
from plait.db import Database
from plait.sessions import SessionData, SessionMiddleware
from plait.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from plait.auth._pages import PageOptions
    from plait.auth._tokens import TokenOptions, Tokens

__all__ = ["HASH_SESSION_KEY", "SESSION_KEY", "Auth", "AuthMiddleware", "LoginRedirect", "auth_of"]

SESSION_KEY = "_auth_user_id"
"""The session key holding the logged-in user's id."""
HASH_SESSION_KEY = "_auth_user_hash"
"""The session key holding an HMAC of the user's password hash: a password change (which
changes the hash) ends every other session of the user."""


class LoginRedirect(Exception):
    """Raised by :data:`LoginRequired` for a browser: answered with a 303 to the login page."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


class Auth:
    """The auth battery: users, passwords, logins kept in the session, permissions::

        from plait import App
        from plait.auth import Auth
        from plait.db import Database
        from plait.sessions import Sessions

        app = App()
        Sessions(app)
        db = Database(app)
        Auth(app, db, login_url="/login")

    Needs the sessions battery (start-up fails with a hint without it), unless the app
    logs users in only with tokens (:meth:`add_tokens`). For each request whose
    session carries a logged-in user, the user is loaded from ``db`` and put in
    ``scope["user"]`` (``request.user``); an inactive user, a deleted one, or a session made
    before the user's password changed or the user logged out count as anonymous.
    ``login_url`` is where :data:`LoginRequired` sends browsers. The session hash is keyed
    with ``secret_key`` (a weak one is refused), else the settings' ``SECRET_KEY``.
    ``password_validators`` check new passwords (sign-up, password change and reset,
    ``createsuperuser``; see :meth:`validate_password`): Django's four by default.
    Password-reset links last ``password_reset_timeout`` (3 days, Django's default).
    """

    def __init__(
        self,
        app: App,
        db: Database,
        *,
        login_url: str = "/login",
        secret_key: str | None = None,
        password_validators: Sequence[PasswordValidator] | None = None,
        password_reset_timeout: datetime.timedelta = datetime.timedelta(days=3),
    ) -> None:
        self.app = app
        self.db = db
        self.login_url = login_url
        if secret_key is not None:
            Settings.check_secret_key(secret_key, name="secret_key")
        secret = secret_key or Settings.load().SECRET_KEY
        if not secret:
            raise ValueError("Auth needs a secret key: pass secret_key= or set SECRET_KEY")
        self.secret = secret
        self._key = hmac.new(secret.encode(), b"plait.auth.session", hashlib.sha256).digest()
        self.tokens: Tokens | None = None
        self.password_reset_timeout = password_reset_timeout
        self.password_validators: Sequence[PasswordValidator] = (
            DEFAULT_VALIDATORS if password_validators is None else tuple(password_validators)
        )
        app.state.auth = self
        app.add_middleware(AuthMiddleware, auth=self)
        _inside_sessions(app)
        app.add_exception_handler(LoginRedirect, _redirect_to_login)
        app.on_startup(self._check_sessions)

    def add_password_pages(
        self,
        *,
        prefix: str = "",
        layout: str = "auth/base.html",
        redirect_to: str = "/",
        reset_limit: str | None = "5/hour",
    ) -> None:
        """Add the password change and reset pages (Django's ``auth.urls`` has them too)::

            Auth(app, db).add_password_pages(layout="base.html")

        ``GET/POST {prefix}/password_change`` (route ``password_change``, logged-in users:
        the old password and the new one twice, checked by the password validators);
        ``GET/POST {prefix}/password_reset`` (``password_reset``: an e-mail address; a
        reset link goes out after the response, the answer the same whether or not the
        address is known; ``reset_limit`` requests per client address) and
        ``GET/POST {prefix}/reset/{uid}/{token}`` (``password_reset_confirm``: the new
        password twice). Needs :class:`plait.templates.Templates`, :class:`plait.csrf.CSRF`,
        :class:`plait.mail.Mail` and the log-in page (:meth:`add_pages`); override
        ``auth/password_change.html``, ``auth/password_reset.html`` or
        ``auth/password_reset_confirm.html`` for pages of your own.
        """
        from plait.auth._pages import csrf_ready, templates_ready
        from plait.auth._passwordpages import add_password_pages

        add_password_pages(
            self,
            self.app,
            prefix=prefix,
            layout=layout,
            redirect_to=redirect_to,
            reset_limit=reset_limit,
        )
        app = self.app
        app.on_startup(lambda: templates_ready(app))
        app.on_startup(lambda: csrf_ready(app))
        app.on_startup(lambda: _mail_ready(app))

    def _check_sessions(self) -> None:
        """Start-up: sessions are needed, unless the app logs users in with tokens only."""
        if self.tokens is None:
            check_sessions(self.app)

    def add_pages(self, **options: Unpack[PageOptions]) -> None:
        """Add the log-in, log-out and sign-up pages (Django's ``auth.urls``)::

            Auth(app, db).add_pages(layout="base.html")

        ``GET/POST {prefix}/login`` (routes named ``login``, ``logout``, ``signup``) logs in
        and goes to ``?next=`` (a path on this site) or ``redirect_to``; ``POST
        {prefix}/logout`` logs out; ``GET/POST {prefix}/signup`` creates a user (a username,
        the password twice, at least 8 characters) and sends them to log in with a flashed
        ``signup_message``. The pages extend ``layout`` (yours, with ``title`` and
        ``content`` blocks; a bare page by default) and draw the forms with ``{{ form }}``;
        override ``auth/login.html`` or ``auth/signup.html`` in your templates directory for
        your own. Needs :class:`plait.templates.Templates` and :class:`plait.csrf.CSRF` on
        the app (start-up fails without them).

        Log-in and sign-up attempts are rate limited per client address (plait.ratelimit,
        sliding windows, in Redis when ``REDIS_URL`` is set): ``login_limit`` POSTs (5 a
        minute) and ``signup_limit`` (10 an hour); over it the form comes back with 429,
        ``Retry-After`` and "Too many attempts". ``None`` turns a limit off.
        """
        from plait.auth._pages import add_pages

        if self.login_url == "/login":  # the default: LoginRequired sends browsers here now
            self.login_url = f"{options.get('prefix', '')}/login"
        add_pages(self, self.app, options)

    def add_tokens(self, **options: Unpack[TokenOptions]) -> Tokens:
        """Let API clients log in with ``Authorization: <scheme> <token>`` (see
        :class:`~plait.auth.Tokens`)::

            tokens = Auth(app, db).add_tokens(scheme="Token")   # RealWorld's scheme
            token = tokens.access_token(user)
        """
        from plait.auth._tokens import Tokens

        if self.tokens is not None:
            raise RuntimeError("Auth.add_tokens() was already called for this app")
        self.tokens = Tokens(self, **options)
        tokens = self.tokens
        self.app.on_startup(lambda: tokens.exempt_from_csrf(self.app))
        return tokens

    def validate_password(self, password: str, user: User | None = None) -> None:
        """Raise :class:`~plait.auth.PasswordInvalid` (Django's messages in ``messages``)
        when ``password`` fails this app's validators, for ``user`` (its username and e-mail
        address must not be too similar)::

            try:
                auth.validate_password(data.password, User(username=data.username))
            except PasswordInvalid as exc:
                raise HTTPException(422, {"password": exc.messages}) from None
        """
        validate_password(password, user, self.password_validators)

    async def send_password_reset(
        self,
        email: str,
        link: Callable[[str, str], str],
        *,
        site: str = "our site",
        subject: str = "Password reset",
    ) -> int:
        """E-mail a password-reset link to the active users with address ``email``
        (through the app's :class:`plait.mail.Mail`); ``link(uid, token)`` makes the link::

            sent = await auth.send_password_reset(
                data.email, lambda uid, token: f"https://example.com/reset/{uid}/{token}"
            )

        The link's token is Django's: single use (it is bound to the password hash and the
        last login), expiring after ``password_reset_timeout``. Answer the client the same
        whether or not anything was sent, and call this after the response (a background
        task) so that the time taken does not tell either.
        """
        from plait.auth._reset import send_password_reset

        return await send_password_reset(self, email, link, site=site, subject=subject)

    async def reset_password(
        self, session: AsyncSession, uid: str, token: str, password: str
    ) -> User:
        """Set ``password`` for the user a reset link (``uid``, ``token``) was made for;
        raises :class:`~plait.auth.ResetTokenInvalid` or :class:`~plait.auth.PasswordInvalid`.
        Every session and access token of the user ends; the link is used up."""
        from plait.auth._reset import reset_password

        return await reset_password(self, session, uid, token, password)

    def session_hash(self, user: User) -> str:
        """The HMAC kept in the session at login, of ``user``'s password hash and session
        generation: a password change or a logout (which bumps the generation) ends every
        session made before it, wherever its cookie went."""
        material = f"{user.session_generation or 0}:{user.password}".encode()
        return hmac.new(self._key, material, hashlib.sha256).hexdigest()

    async def load_user(
        self, session: SessionData, db_session: AsyncSession | None = None
    ) -> User | None:
        """The active user logged in to ``session``, or ``None``; a session whose user is gone
        or whose password changed since the login is flushed. The user is read in
        ``db_session`` (the middleware passes the request's), else in a session of its own."""
        data = session.to_dict()  # PERF: reading it this way does not make the response vary
        user_id = data.get(SESSION_KEY)
        if not isinstance(user_id, int):
            return None
        if db_session is None:
            async with self.db.session() as own:
                return await self.load_user(session, own)
        user = await db_session.get(User, user_id)
        if user is None or not hmac.compare_digest(
            str(data.get(HASH_SESSION_KEY, "")), self.session_hash(user)
        ):
            session.flush()
            return None
        return user if user.is_active else None


def auth_of(connection: HTTPConnection) -> Auth:
    """The :class:`Auth` of the connection's app."""
    app = connection.app
    auth = getattr(app.state, "auth", None) if app is not None else None
    if not isinstance(auth, Auth):
        raise RuntimeError("plait.auth is not set up on this app: add Auth(app, db)")
    return auth


def _mail_ready(app: App) -> None:
    """Start-up: the password-reset page sends mail."""
    from plait.mail import Mail

    try:
        Mail.of(app)
    except RuntimeError:
        raise RuntimeError(
            "plait.auth's password-reset page sends mail: add Mail(app, backend) (from plait.mail)"
        ) from None


def check_sessions(app: App) -> None:
    """Start-up check: the sessions battery is installed."""
    if not any(issubclass(cls, SessionMiddleware) for cls, _ in app.user_middleware):
        raise RuntimeError("plait.auth needs sessions: add Sessions(app) (from plait.sessions)")


def _inside_sessions(app: App) -> None:
    """Move the middleware just added (outermost) inside the session middleware, which must
    have loaded the session before the user can be: ``Sessions(app)`` and ``Auth(app, db)``
    then work in either order."""
    middleware = app.user_middleware
    entry = middleware.pop(0)
    position = next(
        (i for i, (cls, _) in enumerate(middleware) if issubclass(cls, SessionMiddleware)), -1
    )
    middleware.insert(position + 1, entry)


async def _redirect_to_login(request: Request, exc: LoginRedirect) -> RedirectResponse:
    return RedirectResponse(exc.location, status_code=303)


class AuthMiddleware:
    """Put the request's user in ``scope["user"]`` (added by :class:`Auth`): the token's, or
    the session's. The user is loaded in the session the database lends the request
    (:meth:`plait.db.Database.lend_session`), which the handler's ``Session`` continues."""

    def __init__(self, app: ASGIApp, *, auth: Auth) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tokens = self.auth.tokens
        # Authenticated by the token alone, never by a cookie it comes with: these requests
        # skip CSRF, so the session must not speak for them.
        by_token = tokens is not None and tokens.carries_credentials(scope)
        session = scope.get("session")
        # PERF: a request whose session has no user costs a dict lookup.
        if not by_token and not (
            isinstance(session, SessionData) and SESSION_KEY in session.to_dict()
        ):
            await self.app(scope, receive, send)
            return
        lent = self.auth.db.lend_session()
        try:
            if by_token:
                assert tokens is not None
                await tokens.authenticate(scope, lent.session)
            else:
                assert isinstance(session, SessionData)
                user = await self.auth.load_user(session, lent.session)
                if user is not None:
                    scope["user"] = user
            if scope.get("user") is None:
                await lent.release()
            else:
                await lent.loaded()
                send = lent.releasing(send)
            await self.app(scope, receive, send)
        except BaseException:
            await lent.release(failed=True)
            raise
        await lent.release()
