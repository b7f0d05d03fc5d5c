"""Cross-Origin Resource Sharing (CORS): answer preflights, tag simple responses."""

from __future__ import annotations

import re
from collections.abc import Sequence

from plait.middleware._headers import (
    RawHeaders,
    add_vary,
    encode_header_value,
    get_header,
    mutable_response_headers,
    send_plain_text,
)
from plait.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CORSMiddleware"]

ALL_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
SAFELISTED_HEADERS = frozenset({"accept", "accept-language", "content-language", "content-type"})

# Headers this middleware owns on a simple response: any value the app set is replaced.
_OWNED = frozenset(
    {
        b"access-control-allow-origin",
        b"access-control-allow-credentials",
        b"access-control-expose-headers",
    }
)


class CORSMiddleware:
    """Add CORS headers to responses and answer preflight requests.

    Nothing is allowed by default: pass ``allow_origins`` (exact origins such as
    ``"https://example.com"``, or ``"*"`` for any) and/or ``allow_origin_regex``
    (matched against the whole origin). ``allow_credentials=True`` cannot be combined
    with ``"*"``: that would let any site make authenticated requests, so it raises
    ``ValueError`` at construction.

    Example::

        app.add_middleware(
            CORSMiddleware,
            allow_origins=["https://example.com"],
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization"],
        )
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        allow_origins: Sequence[str] = (),
        allow_origin_regex: str | None = None,
        allow_methods: Sequence[str] = ("GET",),
        allow_headers: Sequence[str] = (),
        allow_credentials: bool = False,
        expose_headers: Sequence[str] = (),
        max_age: int = 600,
    ) -> None:
        if isinstance(allow_origins, str) or isinstance(allow_methods, str):
            raise TypeError("allow_origins and allow_methods must be sequences of strings")
        if isinstance(allow_headers, str) or isinstance(expose_headers, str):
            raise TypeError("allow_headers and expose_headers must be sequences of strings")
        allow_all_origins = "*" in allow_origins
        if allow_credentials and allow_all_origins:
            raise ValueError(
                "allow_credentials=True cannot be used with allow_origins=['*']: list the "
                "trusted origins explicitly (or use allow_origin_regex)"
            )
        if type(max_age) is not int or max_age < 0:
            raise ValueError(f"max_age must be a non-negative int, got {max_age!r}")

        methods = ALL_METHODS if "*" in allow_methods else tuple(m.upper() for m in allow_methods)
        self.app = app
        self.allow_all_origins = allow_all_origins
        self.allow_origins = frozenset(o.encode("latin-1") for o in allow_origins)
        self.allow_origin_regex = (
            re.compile(allow_origin_regex) if allow_origin_regex is not None else None
        )
        self.allow_methods = frozenset(m.encode("latin-1") for m in methods)
        self.allow_all_headers = "*" in allow_headers
        headers = sorted(SAFELISTED_HEADERS | {h.lower() for h in allow_headers if h != "*"})
        self.allow_headers = frozenset(h.encode("latin-1") for h in headers)

        # PERF: every header value is encoded once here; requests only copy these lists.
        simple: RawHeaders = []
        if allow_all_origins:
            simple.append((b"access-control-allow-origin", b"*"))
        if allow_credentials:
            simple.append((b"access-control-allow-credentials", b"true"))
        if expose_headers:
            value = encode_header_value(", ".join(expose_headers), "expose_headers")
            simple.append((b"access-control-expose-headers", value))
        self.simple_headers = simple

        preflight: RawHeaders = []
        if allow_all_origins:
            preflight.append((b"access-control-allow-origin", b"*"))
        else:
            preflight.append((b"vary", b"Origin"))
        preflight.append((b"access-control-allow-methods", ", ".join(methods).encode("latin-1")))
        preflight.append((b"access-control-max-age", str(max_age).encode("latin-1")))
        if not self.allow_all_headers:
            preflight.append((b"access-control-allow-headers", ", ".join(headers).encode()))
        if allow_credentials:
            preflight.append((b"access-control-allow-credentials", b"true"))
        self.preflight_headers = preflight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_headers = scope["headers"]
        origin = get_header(request_headers, b"origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            requested_method = get_header(request_headers, b"access-control-request-method")
            if requested_method is not None:
                await self.preflight(origin, requested_method, request_headers, send)
                return
        await self.simple(scope, receive, send, origin)

    def is_allowed_origin(self, origin: bytes) -> bool:
        """Return whether ``origin`` (the raw ``Origin`` header) may access responses."""
        if self.allow_all_origins or origin in self.allow_origins:
            return True
        regex = self.allow_origin_regex
        return regex is not None and regex.fullmatch(origin.decode("latin-1")) is not None

    async def preflight(
        self, origin: bytes, method: bytes, request_headers: RawHeaders, send: Send
    ) -> None:
        """Answer an ``OPTIONS`` preflight: 200 with the allow headers, or 400."""
        headers = list(self.preflight_headers)
        failures: list[str] = []
        if not self.is_allowed_origin(origin):
            failures.append("origin")
        elif not self.allow_all_origins:
            headers.append((b"access-control-allow-origin", origin))
        if method not in self.allow_methods:
            failures.append("method")
        requested = get_header(request_headers, b"access-control-request-headers")
        if requested is not None:
            if self.allow_all_headers:
                headers.append((b"access-control-allow-headers", requested))
            elif not self.allowed_request_headers(requested):
                failures.append("headers")
        if failures:
            body = ("Disallowed CORS " + ", ".join(failures)).encode()
            await send_plain_text(send, 400, body, headers)
        else:
            await send_plain_text(send, 200, b"OK", headers)

    def allowed_request_headers(self, requested: bytes) -> bool:
        """Return whether every header named in Access-Control-Request-Headers is allowed."""
        for name in requested.split(b","):
            name = name.strip().lower()
            if name and name not in self.allow_headers:
                return False
        return True

    async def simple(self, scope: Scope, receive: Receive, send: Send, origin: bytes) -> None:
        """Run the app, adding the CORS headers to its response start message."""
        allowed = self.is_allowed_origin(origin)
        # PERF: the origin check runs once per request, not inside the send wrapper.
        echo = not self.allow_all_origins

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = mutable_response_headers(message)
                if allowed:
                    headers[:] = [h for h in headers if h[0].lower() not in _OWNED]
                    headers.extend(self.simple_headers)
                    if echo:
                        headers.append((b"access-control-allow-origin", origin))
                if echo:
                    # The answer depends on Origin, so caches must key on it either way.
                    add_vary(headers, b"Origin")
            await send(message)

        await self.app(scope, receive, send_wrapper)
