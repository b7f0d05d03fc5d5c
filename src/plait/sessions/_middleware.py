"""``Sessions(app)`` and its pure ASGI ``SessionMiddleware``."""

from __future__ import annotations

import datetime
import re
import secrets
import time
from email.utils import formatdate
from typing import Literal, TypedDict, Unpack

from plait import App, ServiceUnavailable, Settings
from plait.sessions._data import SessionData, UnreachableSession
from plait.sessions._redis import RedisStore
from plait.sessions._stores import CookieStore, SessionStore
from plait.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "DEFAULT_COOKIE_NAME",
    "DEFAULT_MAX_AGE",
    "SessionMiddleware",
    "SessionOptions",
    "Sessions",
]

DEFAULT_MAX_AGE = 14 * 24 * 60 * 60
"""Two weeks, Django's ``SESSION_COOKIE_AGE``."""
DEFAULT_COOKIE_NAME = "plait_session"

SameSite = Literal["lax", "strict", "none"]
_EXPIRED = "Thu, 01 Jan 1970 00:00:00 GMT"
# What secrets.token_urlsafe(32) makes: the only ids a server-side store is ever asked about.
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{43}")


class SessionOptions(TypedDict, total=False):
    """The options of :class:`Sessions` and :class:`SessionMiddleware`, listed once for both.

    ``secret_key`` signs the cookie store (default: the settings' ``SECRET_KEY``); ``store``
    is where the data lives (default: :class:`RedisStore` when ``REDIS_URL`` is set, else
    :class:`CookieStore`); ``cookie_name`` (``"plait_session"``); ``max_age`` (two weeks);
    ``path`` (``"/"``), ``domain`` (none), ``secure`` (``None``: when the request came over
    HTTPS), ``httponly`` (``True``) and ``samesite`` (``"lax"``) are the cookie's attributes.
    """

    secret_key: str | None
    store: SessionStore | None
    cookie_name: str
    max_age: int | datetime.timedelta
    path: str
    domain: str | None
    secure: bool | None
    httponly: bool
    samesite: SameSite


def _checked(options: SessionOptions) -> SessionOptions:
    unknown = options.keys() - SessionOptions.__optional_keys__
    if unknown:
        raise TypeError(f"unknown session options: {', '.join(sorted(unknown))}")
    return options


def secret_key_from_settings(secret_key: str | None) -> str:
    """``secret_key``, or ``SECRET_KEY`` from :meth:`plait.Settings.load` (which fails in
    production without one, and generates a random one in DEBUG)."""
    if secret_key:
        return secret_key
    loaded = Settings.load().SECRET_KEY
    if not loaded:
        raise ValueError("Sessions need a secret key: pass secret_key= or set SECRET_KEY")
    return loaded


def default_store(secret_key: str | None, settings: Settings | None = None) -> SessionStore:
    """The store when none is given: :class:`RedisStore` when ``REDIS_URL`` is set (the one
    setting that moves every battery's state to Redis), else the signed-cookie store."""
    redis_url = (settings or Settings.load(check=False)).REDIS_URL
    if redis_url:
        return RedisStore(redis_url)
    if not secret_key and settings is not None:
        secret_key = settings.SECRET_KEY
    return CookieStore(secret_key_from_settings(secret_key))


def _seconds(max_age: int | datetime.timedelta) -> int:
    seconds = int(max_age.total_seconds()) if isinstance(max_age, datetime.timedelta) else max_age
    if type(seconds) is not int or seconds <= 0:
        raise ValueError(f"max_age must be a positive number of seconds, got {max_age!r}")
    return seconds


class SessionMiddleware:
    """Load the session before the app runs (``scope["session"]``), save it after.

    Usually added by :class:`Sessions`; it can also be added directly::

        app.add_middleware(SessionMiddleware, secret_key="…", store=MemoryStore())

    A request without the session cookie costs no store access, and a response whose session
    was not modified gets no ``Set-Cookie``. When the cookie is present, the data is loaded
    before the app runs (stores are async; the mapping the handler sees is not).
    """

    def __init__(self, app: ASGIApp, **options: Unpack[SessionOptions]) -> None:
        _checked(options)
        store = options.get("store")
        cookie_name = options.get("cookie_name", DEFAULT_COOKIE_NAME)
        samesite = options.get("samesite", "lax")
        domain = options.get("domain")
        if samesite not in ("lax", "strict", "none"):
            raise ValueError("samesite must be 'lax', 'strict' or 'none'")
        if not cookie_name or any(c in cookie_name for c in ' ;,="'):
            raise ValueError(f"{cookie_name!r} is not a valid cookie name")
        self.app = app
        self.store = store if store is not None else default_store(options.get("secret_key"))
        self.cookie_name = cookie_name
        self.max_age = _seconds(options.get("max_age", DEFAULT_MAX_AGE))
        self.secure = options.get("secure")
        attributes = f"; Path={options.get('path', '/')}"
        if domain is not None:
            attributes += f"; Domain={domain}"
        if options.get("httponly", True):
            attributes += "; HttpOnly"
        attributes += f"; SameSite={samesite.capitalize()}"
        self._attributes = attributes
        self._always_secure = samesite == "none"  # browsers drop SameSite=None without Secure
        self._prefix = cookie_name + "="

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            await self.app(scope, receive, send)
            return
        cookie = self._cookie(scope)
        session = SessionData()
        if cookie and self.store.server_side and not _SESSION_ID.fullmatch(cookie):
            cookie = None  # not an id this middleware made: never a Redis key or a SQL value
        if cookie:
            try:
                data = await self.store.load(cookie)
            except ServiceUnavailable as exc:
                # The store is down: only requests that use the session are answered 503.
                session = UnreachableSession(exc)
            else:
                if data is not None:
                    session = SessionData(data, cookie)
        scope["session"] = session
        if kind != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_session(message: Message) -> None:
            # PERF: an untouched session costs one attribute test per message.
            if message["type"] == "http.response.start" and session.accessed:
                headers = list(message.get("headers", ()))
                headers.append((b"vary", b"Cookie"))
                # A failed request (5xx) leaves the stored session as it was (as Django does).
                if session.modified and message["status"] < 500:
                    set_cookie = await self._save(session, scope, had_cookie=cookie is not None)
                    if set_cookie is not None:
                        headers.append((b"set-cookie", set_cookie.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_session)

    def _cookie(self, scope: Scope) -> str | None:
        """This middleware's cookie from the request's ``Cookie`` headers."""
        prefix = self._prefix
        for name, value in scope["headers"]:
            if name == b"cookie" and prefix in (text := value.decode("latin-1")):
                for chunk in text.split(";"):
                    chunk = chunk.strip()
                    if chunk.startswith(prefix):
                        found: str = chunk[len(prefix) :].strip('"')
                        return found
        return None

    async def _save(self, session: SessionData, scope: Scope, *, had_cookie: bool) -> str | None:
        """Write the session to the store; return the ``Set-Cookie`` value (or ``None``)."""
        store = self.store
        for old in session.old_keys:
            await store.delete(old)
        session.old_keys.clear()
        data = session.to_dict()
        secure = self._always_secure or (
            self.secure if self.secure is not None else scope.get("scheme") in ("https", "wss")
        )
        tail = self._attributes + ("; Secure" if secure else "")
        if not data:
            if session.key is not None:
                await store.delete(session.key)
                session.key = None
            if not had_cookie:
                return None
            return f"{self.cookie_name}=; Expires={_EXPIRED}; Max-Age=0{tail}"
        if session.key is not None and store.server_side and await store.load(session.key) is None:
            # Deleted (a logout in another request) or expired while this request ran: writing
            # this copy back would bring the session, and its logged-in user, back to life.
            return None
        if session.key is None:
            session.key = secrets.token_urlsafe(32) if store.server_side else ""
        value = await store.save(session.key, data, self.max_age)
        if not store.server_side:
            session.key = value
        expires = formatdate(time.time() + self.max_age, usegmt=True)
        return f"{self.cookie_name}={value}; Expires={expires}; Max-Age={self.max_age}{tail}"


class Sessions:
    """The sessions battery: ``request.session`` on every request, kept between requests::

        from plait import App, Request
        from plait.sessions import Sessions

        app = App()
        Sessions(app)                       # signed cookies with settings' SECRET_KEY

        @app.post("/visit")
        async def visit(request: Request) -> dict:
            request.session["visits"] = request.session.get("visits", 0) + 1
            return {"visits": request.session["visits"]}

    ``store`` is where the data lives: :class:`CookieStore` (the default, signed with
    ``secret_key``, else the settings' ``SECRET_KEY``), :class:`MemoryStore`,
    :class:`RedisStore` or :class:`DatabaseStore`. Without ``store``, a ``REDIS_URL`` in
    ``settings`` (else ``PLAIT_REDIS_URL``) means :class:`RedisStore` on that server. The
    cookie is ``HttpOnly``, ``SameSite=Lax``, lasts ``max_age`` (two weeks), and is
    ``Secure`` when the request came over HTTPS (``secure=None``; pass ``True`` behind a
    proxy that terminates TLS, or configure the trusted proxies).
    """

    def __init__(
        self, app: App, *, settings: Settings | None = None, **options: Unpack[SessionOptions]
    ) -> None:
        _checked(options)
        store = options.get("store")
        if store is None:
            store = default_store(options.get("secret_key"), settings)
        self.store = store
        self.cookie_name = options.get("cookie_name", DEFAULT_COOKIE_NAME)
        self.max_age = _seconds(options.get("max_age", DEFAULT_MAX_AGE))
        self.options: SessionOptions = {**options, "store": store, "max_age": self.max_age}
        """The middleware's options: the same type, so nothing is listed twice."""
        app.add_middleware(SessionMiddleware, **self.options)
        app.on_shutdown(self.store.close)
        app.state.sessions = self
