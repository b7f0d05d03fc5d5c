"""``CSRFMiddleware``: Django's CSRF protection as a pure ASGI middleware."""

from __future__ import annotations

import html
import http.cookies
import inspect
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from http import HTTPStatus
from typing import Literal, TypedDict, Unpack
from urllib.parse import urlsplit

from plait import (
    ClientDisconnect,
    FormData,
    FormLimits,
    HTMLResponse,
    HTTPException,
    PlainTextResponse,
    Request,
    Response,
)
from plait.csrf._tokens import is_valid_secret, mask, matches, new_secret
from plait.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "REASON_BAD_ORIGIN",
    "REASON_BAD_REFERER",
    "REASON_INSECURE_REFERER",
    "REASON_MALFORMED_REFERER",
    "REASON_NO_CSRF_COOKIE",
    "REASON_NO_REFERER",
    "REASON_TOKEN_INCORRECT",
    "REASON_TOKEN_MISSING",
    "CSRFMiddleware",
    "CSRFOptions",
    "FailureHandler",
]

logger = logging.getLogger("plait.csrf")

# Django's wording (django/middleware/csrf.py), so its users recognise the failures.
REASON_BAD_ORIGIN = "Origin checking failed - %s does not match any trusted origins."
REASON_NO_REFERER = "Referer checking failed - no Referer."
REASON_BAD_REFERER = "Referer checking failed - %s does not match any trusted origins."
REASON_MALFORMED_REFERER = "Referer checking failed - Referer is malformed."
REASON_INSECURE_REFERER = "Referer checking failed - Referer is insecure while host is secure."
REASON_NO_CSRF_COOKIE = "CSRF cookie not set."
REASON_TOKEN_MISSING = "CSRF token missing."
REASON_TOKEN_INCORRECT = "CSRF token incorrect."

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
FailureHandler = Callable[[Request, str], Response | Awaitable[Response]]
"""``handler(request, reason) -> Response``: Django's ``CSRF_FAILURE_VIEW``."""


class CSRFOptions(TypedDict, total=False):
    """The options of :class:`~plait.csrf.CSRF` and :class:`CSRFMiddleware`, listed once.

    ``cookie_name`` (``"csrftoken"``), ``header_name`` (``"x-csrf-token"``) and ``field_name``
    (``"csrf_token"``) say where the secret and the token travel; ``trusted_origins`` (full
    origins, ``"https://*.example.com"`` for subdomains) may post cross-site; ``exempt``
    path prefixes are not checked; ``cookie_secure`` (``None``: on HTTPS requests),
    ``cookie_samesite`` (``"lax"``), ``cookie_httponly`` (``False``, as in Django: scripts read
    it to send the header), ``cookie_domain``, ``cookie_path`` (``"/"``) and
    ``cookie_max_age`` (a year) shape the cookie; ``on_failure(request, reason)`` answers a
    refusal instead of the default 403 (Django's ``CSRF_FAILURE_VIEW``).
    """

    cookie_name: str
    header_name: str
    field_name: str
    trusted_origins: Sequence[str]
    exempt: Sequence[str]
    cookie_secure: bool | None
    cookie_samesite: Literal["lax", "strict", "none"]
    cookie_httponly: bool
    cookie_domain: str | None
    cookie_path: str
    cookie_max_age: int | None
    on_failure: FailureHandler | None


_DEFAULT_PORTS = {"http": "80", "https": "443"}
_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
    "</head><body><h1>{title}</h1><p>{summary}</p><p>{reason}</p></body></html>"
)


def _origin(scheme: str, netloc: str) -> str:
    """``scheme://host[:port]``, lower-cased, without the scheme's default port."""
    scheme, netloc = scheme.lower(), netloc.lower()
    default = _DEFAULT_PORTS.get(scheme)
    if default is not None and netloc.endswith(":" + default):
        netloc = netloc[: -len(default) - 1]
    return f"{scheme}://{netloc}"


class _Token:
    """``scope["csrf_token"]``: each call returns a new masked token for the secret."""

    __slots__ = ("issue", "secret", "used")

    def __init__(self, secret: str | None) -> None:
        self.secret = secret
        self.issue = secret is None  # a new secret goes out in a cookie if a token is used
        self.used = False

    def __call__(self) -> str:
        if self.secret is None:
            self.secret = new_secret()
        self.used = True
        return mask(self.secret)

    def rotate(self) -> None:
        """Replace the secret (on login): tokens issued before stop validating."""
        self.secret = new_secret()
        self.issue = self.used = True


class CSRFMiddleware:
    """Refuse cross-site form posts and API calls: Django's CSRF protection, pure ASGI.

    Safe methods (GET, HEAD, OPTIONS, TRACE) pass. Any other request must come from the
    site itself — its ``Origin`` (or, over HTTPS without one, its ``Referer``) is the
    request's own ``scheme://host`` or one of ``trusted_origins`` — and carry the token:
    the ``X-CSRF-Token`` header, or for a form post the ``csrf_token`` field. Each
    ``scope["csrf_token"]()`` call returns a new masked token for the secret in the
    ``csrftoken`` cookie, which is sent when a token was asked for and the request had none.

    Example::

        app.add_middleware(CSRFMiddleware, trusted_origins=["https://admin.example.com"])

    Most apps use :class:`plait.csrf.CSRF` (``CSRF(app)``), which adds this middleware with
    the app's body size cap.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_size: int | None = 10 * 1024 * 1024,
        body_timeout: float | None = 30.0,
        form_limits: FormLimits | None = None,
        exempt_routes: Callable[[], Iterable[re.Pattern[str]]] | None = None,
        exempt_request: Callable[[Scope], bool] | None = None,
        **options: Unpack[CSRFOptions],
    ) -> None:
        unknown = options.keys() - CSRFOptions.__optional_keys__
        if unknown:
            raise TypeError(f"unknown CSRF options: {', '.join(sorted(unknown))}")
        trusted_origins = options.get("trusted_origins", ())
        exempt = options.get("exempt", ())
        header_name = options.get("header_name", "x-csrf-token")
        if isinstance(trusted_origins, str) or isinstance(exempt, str):
            raise TypeError("trusted_origins and exempt must be sequences of strings")
        self.app = app
        self.cookie_name = options.get("cookie_name", "csrftoken")
        self.header_name = header_name.lower().encode("latin-1")
        self.field_name = options.get("field_name", "csrf_token")
        self.trusted = frozenset(self._parse_origins(trusted_origins))
        self.trusted_patterns = [
            re.compile(re.escape(o).replace(r"\*", r"[^./:]+(?:\.[^./:]+)*", 1))
            for o in self.trusted
            if "*" in o
        ]
        for prefix in exempt:
            if not prefix.startswith("/"):
                raise ValueError(f"exempt path prefixes start with '/': {prefix!r}")
        self.exempt = tuple(exempt)
        self.cookie_secure = options.get("cookie_secure")
        self.cookie_samesite = options.get("cookie_samesite", "lax")
        self.cookie_httponly = options.get("cookie_httponly", False)
        self.cookie_domain = options.get("cookie_domain")
        self.cookie_path = options.get("cookie_path", "/")
        self.cookie_max_age = options.get("cookie_max_age", 31_449_600)
        self.max_body_size = max_body_size
        self.body_timeout = body_timeout or None
        self.form_limits = form_limits
        self.on_failure = options.get("on_failure")
        self.exempt_routes = exempt_routes
        self.exempt_request = exempt_request
        self._exempt_paths: list[re.Pattern[str]] | None = None

    @staticmethod
    def _parse_origins(origins: Sequence[str]) -> list[str]:
        parsed = []
        for origin in origins:
            parts = urlsplit(origin)
            # A "*" only as a whole leading label: "*example.com" would trust evilexample.com.
            wild = "*" in parts.netloc and (
                not parts.netloc.startswith("*.") or "*" in parts.netloc[1:]
            )
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or wild:
                raise ValueError(
                    f"trusted origins are scheme://host[:port], like 'https://example.com' "
                    f"or 'https://*.example.com': got {origin!r}"
                )
            parsed.append(_origin(parts.scheme, parts.netloc))
        return parsed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket" and self._cross_site_websocket(scope):
                # Cross-site WebSocket hijacking: a browser sends the site's cookies (the
                # session) with a WebSocket any page opens, and its Origin says which page.
                logger.warning("Forbidden (cross-site WebSocket): %s", scope["path"])
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        secret = _cookie(headers, self.cookie_name)
        token = _Token(secret if is_valid_secret(secret) else None)
        scope["csrf_token"] = token
        parsed: list[FormData] = []
        try:
            await self._guard(scope, receive, send, token, parsed)
        finally:
            await _close(parsed)

    async def _guard(
        self, scope: Scope, receive: Receive, send: Send, token: _Token, parsed: list[FormData]
    ) -> None:
        if (
            scope["method"] not in SAFE_METHODS
            and not self._is_exempt(scope)
            and not (self.exempt_request is not None and self.exempt_request(scope))
        ):
            try:
                reason, receive = await self._check(scope, receive, token.secret, parsed)
            except HTTPException as exc:  # the form: too large, too many fields, too slow
                await self._refuse(scope, send, exc.status_code, exc.detail)
                return
            if reason is not None:
                logger.warning("Forbidden (%s): %s", reason, scope["path"])
                await self._fail(scope, send, reason)
                return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and token.used:
                message.setdefault("headers", [])
                raw = list(message["headers"])
                if token.issue and token.secret is not None:
                    raw.append((b"set-cookie", self._cookie_header(scope, token.secret)))
                # A page holding a token is one user's: caches must key on the cookie.
                raw.append((b"vary", b"Cookie"))
                message["headers"] = raw
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _is_exempt(self, scope: Scope) -> bool:
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :] or "/"
        for prefix in self.exempt:
            if path.startswith(prefix) and (
                prefix.endswith("/") or len(path) == len(prefix) or path[len(prefix)] == "/"
            ):
                return True
        if self._exempt_paths is None:
            # The routes are final once the app serves: read the @csrf_exempt ones once.
            routes = self.exempt_routes
            self._exempt_paths = list(routes()) if routes is not None else []
        return any(pattern.fullmatch(path) for pattern in self._exempt_paths)

    # ---------------------------------------------------------------- checks

    async def _check(
        self, scope: Scope, receive: Receive, secret: str | None, parsed: list[FormData]
    ) -> tuple[str | None, Receive]:
        """The reason to refuse the request (or ``None``), and the ``receive`` for the app;
        a form read for its token is added to ``parsed``."""
        headers = scope["headers"]
        reason = self._check_origin(scope, headers)
        if reason is not None:
            return reason, receive
        if secret is None:
            return REASON_NO_CSRF_COOKIE, receive
        submitted = _header(headers, self.header_name)
        if submitted is None:
            media = (_header(headers, b"content-type") or "").partition(";")[0].strip().lower()
            if media not in _FORMS:
                return REASON_TOKEN_MISSING, receive
            # The app's own form parser, with its limits: the handler's request.form() gets
            # this parse, not a second one.
            request = _LimitedRequest(scope, receive, self.max_body_size, self.body_timeout)
            try:
                form = await request.form(self.form_limits)
            except ClientDisconnect:
                return REASON_TOKEN_MISSING, receive
            except HTTPException as exc:
                if exc.title != _MALFORMED:
                    raise
                return REASON_TOKEN_MISSING, receive  # a body that cannot be read has no token
            parsed.append(form)
            value = form.get(self.field_name)
            receive = _after_form(await request.body() if media == _URLENCODED else b"", receive)
            if not isinstance(value, str):  # missing, or a file named like the field
                return REASON_TOKEN_MISSING, receive
            submitted = value
        if not matches(submitted.strip(), secret):
            return REASON_TOKEN_INCORRECT, receive
        return None, receive

    def _cross_site_websocket(self, scope: Scope) -> bool:
        """Whether a browser opened this WebSocket from another site (non-browser clients
        send no ``Origin``; exempt paths are not checked)."""
        origin = _header(scope["headers"], b"origin")
        if origin is None or self._is_exempt(scope):
            return False
        scheme = "https" if scope.get("scheme") == "wss" else "http"
        own = _origin(scheme, _host(scope))
        return origin == "null" or not self._trusted(origin, own)

    def _check_origin(self, scope: Scope, headers: list[tuple[bytes, bytes]]) -> str | None:
        scheme: str = scope.get("scheme", "http")
        own = _origin(scheme, _host(scope))
        origin = _header(headers, b"origin")
        if origin is not None:
            if origin != "null" and self._trusted(origin, own):
                return None
            return REASON_BAD_ORIGIN % origin
        if scheme != "https":
            return None
        referer = _header(headers, b"referer")
        if referer is None:
            return REASON_NO_REFERER
        try:
            parts = urlsplit(referer)
        except ValueError:
            return REASON_MALFORMED_REFERER
        if not parts.scheme or not parts.netloc:
            return REASON_MALFORMED_REFERER
        if parts.scheme != "https":
            return REASON_INSECURE_REFERER
        if not self._trusted(f"{parts.scheme}://{parts.netloc}", own):
            return REASON_BAD_REFERER % referer
        return None

    def _trusted(self, origin: str, own: str) -> bool:
        try:
            parts = urlsplit(origin)
        except ValueError:
            return False
        normal = _origin(parts.scheme, parts.netloc)
        if normal == own or normal in self.trusted:
            return True
        return any(pattern.fullmatch(normal) for pattern in self.trusted_patterns)

    # ---------------------------------------------------------------- responses

    def _cookie_header(self, scope: Scope, secret: str) -> bytes:
        cookie: http.cookies.SimpleCookie = http.cookies.SimpleCookie()
        cookie[self.cookie_name] = secret
        morsel = cookie[self.cookie_name]
        morsel["path"] = self.cookie_path
        if self.cookie_max_age is not None:
            morsel["max-age"] = self.cookie_max_age
        if self.cookie_domain is not None:
            morsel["domain"] = self.cookie_domain
        secure = self.cookie_secure
        if secure is None:
            secure = scope.get("scheme") == "https"
        if secure:
            morsel["secure"] = True
        if self.cookie_httponly:
            morsel["httponly"] = True
        morsel["samesite"] = self.cookie_samesite.capitalize()
        return morsel.OutputString().encode("latin-1")

    async def _fail(self, scope: Scope, send: Send, reason: str) -> None:
        if self.on_failure is not None:
            request = Request(scope)
            try:
                result = self.on_failure(request, reason)
                response = await result if inspect.isawaitable(result) else result
            except Exception:
                logger.exception("The CSRF failure handler failed; answering the default 403")
            else:
                await response(scope, _no_body, send)
                return
        await self._refuse(scope, send, 403, reason)

    async def _refuse(self, scope: Scope, send: Send, status: int, reason: str) -> None:
        accept = (_header(scope["headers"], b"accept") or "").lower()
        content_type = (_header(scope["headers"], b"content-type") or "").lower()
        wants_html = "text/html" in accept
        wants_json = not wants_html and ("json" in accept or "json" in content_type)
        response: Response
        if wants_json:
            problem = HTTPException(status, reason).to_problem()
            response = Response(
                json.dumps(problem), status_code=status, media_type="application/problem+json"
            )
        elif wants_html:
            summary = "CSRF verification failed. Request aborted." if status == 403 else ""
            title = f"{HTTPStatus(status).phrase} ({status})"
            page = _PAGE.format(title=title, summary=summary, reason=html.escape(reason))
            response = HTMLResponse(page, status_code=status)
        else:
            response = PlainTextResponse(
                f"{HTTPStatus(status).phrase}: {reason}", status_code=status
            )
        await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def _host(scope: Scope) -> str:
    """The request's ``Host`` (else the server's address), as the client addressed it."""
    host = _header(scope["headers"], b"host")
    if host is None:
        server = scope.get("server")
        host = f"{server[0]}:{server[1]}" if server else ""
    return host


def _cookie(headers: list[tuple[bytes, bytes]], name: str) -> str | None:
    """The first ``name`` cookie (HTTP/2 may split cookies over several headers)."""
    for key, raw in headers:
        if key == b"cookie":
            for part in raw.decode("latin-1").split(";"):
                cookie, equals, value = part.strip().partition("=")
                if equals and cookie == name:
                    return value.strip('"')
    return None


_URLENCODED = "application/x-www-form-urlencoded"
_MALFORMED = "Malformed form body"  # the form parser's title for a body it cannot read
_FORMS = frozenset({_URLENCODED, "multipart/form-data"})


class _LimitedRequest(Request):
    """The request as the check reads it: the middleware's own size cap and timeout."""

    __slots__ = ("_limit", "_timeout")

    def __init__(self, scope: Scope, receive: Receive, limit: int | None, timeout: float | None):
        super().__init__(scope, receive)
        self._limit = limit
        self._timeout = timeout

    @property
    def max_body_size(self) -> int | None:
        return self._limit

    @property
    def body_timeout(self) -> float | None:
        return self._timeout


def _after_form(body: bytes, receive: Receive) -> Receive:
    """The app's ``receive`` once the check has read the body: an urlencoded body again (the
    form itself reaches ``request.form()`` parsed), a multipart one as read (its files are
    in the form), then the server's messages (a disconnect)."""
    replayed = False

    async def replaying() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replaying


async def _close(forms: list[FormData]) -> None:
    """Close the files of a form the check parsed (the handler's request closes them too,
    when it read the form: closing twice is harmless)."""
    for form in forms:
        await form.close()
