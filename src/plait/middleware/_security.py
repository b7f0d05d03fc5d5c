"""Browser security headers (HSTS, nosniff, framing, referrer, CSP, COOP) on every response."""

from __future__ import annotations

from plait._responses import HTML_SECURITY_HEADERS
from plait.middleware._headers import (
    RawHeaders,
    encode_header_value,
    mutable_response_headers,
    response_header_names,
)
from plait.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BlankServerHeader", "SecurityHeadersMiddleware"]

_DEFAULTS = frozenset(map(id, HTML_SECURITY_HEADERS))

FRAME_OPTIONS = frozenset({"DENY", "SAMEORIGIN"})
REFERRER_POLICIES = frozenset(
    {
        "no-referrer",
        "no-referrer-when-downgrade",
        "origin",
        "origin-when-cross-origin",
        "same-origin",
        "strict-origin",
        "strict-origin-when-cross-origin",
        "unsafe-url",
    }
)
OPENER_POLICIES = frozenset(
    {"same-origin", "same-origin-allow-popups", "noopener-allow-popups", "unsafe-none"}
)
_PRELOAD_MIN_AGE = 31536000  # hstspreload.org refuses anything shorter than a year.


class SecurityHeadersMiddleware:
    """Add security headers to every HTTP response that has not set them itself.

    ``Strict-Transport-Security`` is only sent on HTTPS requests (``scope["scheme"]``),
    as Django's ``SECURE_HSTS_SECONDS`` does: browsers ignore it over plain HTTP, and
    sending it from a development server would pin ``localhost`` to HTTPS. Behind a
    TLS-terminating proxy, let the server trust the proxy's forwarded scheme (for
    uvicorn, ``--proxy-headers``). ``Content-Security-Policy`` is opt-in because a
    wrong policy breaks pages. A header whose option is ``None`` (or ``False``) is not sent.

    Example::

        app.add_middleware(
            SecurityHeadersMiddleware,
            content_security_policy="default-src 'self'",
            hsts_preload=True,
        )
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        hsts: bool = True,
        hsts_max_age: int = 31536000,
        hsts_include_subdomains: bool = True,
        hsts_preload: bool = False,
        content_type_nosniff: bool = True,
        frame_options: str | None = "DENY",
        referrer_policy: str | None = "same-origin",
        content_security_policy: str | None = None,
        cross_origin_opener_policy: str | None = "same-origin",
    ) -> None:
        headers: RawHeaders = []
        if content_type_nosniff:
            headers.append((b"x-content-type-options", b"nosniff"))
        if frame_options is not None:
            if frame_options.upper() not in FRAME_OPTIONS:
                raise ValueError(
                    f"frame_options must be 'DENY', 'SAMEORIGIN' or None, got {frame_options!r}"
                )
            headers.append((b"x-frame-options", frame_options.upper().encode("ascii")))
        if referrer_policy is not None:
            tokens = [token.strip().lower() for token in referrer_policy.split(",")]
            if not all(token in REFERRER_POLICIES for token in tokens):
                raise ValueError(
                    f"referrer_policy must be one or more of {sorted(REFERRER_POLICIES)} "
                    f"(comma-separated) or None, got {referrer_policy!r}"
                )
            headers.append((b"referrer-policy", ", ".join(tokens).encode("ascii")))
        if content_security_policy is not None:
            value = encode_header_value(content_security_policy.strip(), "content_security_policy")
            headers.append((b"content-security-policy", value))
        if cross_origin_opener_policy is not None:
            if cross_origin_opener_policy not in OPENER_POLICIES:
                raise ValueError(
                    f"cross_origin_opener_policy must be one of {sorted(OPENER_POLICIES)} "
                    f"or None, got {cross_origin_opener_policy!r}"
                )
            headers.append(
                (b"cross-origin-opener-policy", cross_origin_opener_policy.encode("ascii"))
            )
        https_headers = list(headers)
        if hsts:
            https_headers.append(
                (
                    b"strict-transport-security",
                    _hsts_value(hsts_max_age, hsts_include_subdomains, hsts_preload),
                )
            )
        self.app = app
        # PERF: header lists are built once; a response only scans its own headers.
        self.http_headers = tuple(headers)
        self.https_headers = tuple(https_headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.https_headers if scope.get("scheme") == "https" else self.http_headers
        if not extra:
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = mutable_response_headers(message)
                # The HTML defaults (recognised by identity) give way to this configuration;
                # a header the handler set itself stays.
                if any(h in _DEFAULTS for h in map(id, headers)):
                    headers = [h for h in headers if id(h) not in _DEFAULTS]
                    message["headers"] = headers
                present = response_header_names(headers)
                headers.extend(h for h in extra if h[0] not in present)
            await send(message)

        await self.app(scope, receive, send_wrapper)


class BlankServerHeader:
    """An empty ``Server`` header on every response that sets none (``PLAIT_SERVER_HEADER=0``;
    the app adds it). granian 2.8 sends ``server: granian`` unless the response has one, and
    has no option to drop it: an empty value is what an app can do there."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = mutable_response_headers(message)
                if b"server" not in response_header_names(headers):
                    headers.append((b"server", b""))
            await send(message)

        await self.app(scope, receive, send_wrapper)


def _hsts_value(max_age: int, include_subdomains: bool, preload: bool) -> bytes:
    if type(max_age) is not int or max_age < 0:
        raise ValueError(f"hsts_max_age must be a non-negative int, got {max_age!r}")
    if preload and not (include_subdomains and max_age >= _PRELOAD_MIN_AGE):
        raise ValueError(
            "hsts_preload=True needs hsts_include_subdomains=True and "
            f"hsts_max_age >= {_PRELOAD_MIN_AGE} (the preload list's requirements)"
        )
    value = f"max-age={max_age}"
    if include_subdomains:
        value += "; includeSubDomains"
    if preload:
        value += "; preload"
    return value.encode("ascii")
