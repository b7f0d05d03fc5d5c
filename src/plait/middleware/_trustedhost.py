"""Reject requests whose ``Host`` header names a host this app does not serve."""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import quote

from plait.middleware._headers import get_header, send_plain_text
from plait.types import ASGIApp, Receive, Scope, Send

__all__ = ["TrustedHostMiddleware"]

# WebSocket close code 1008: "policy violation".
_WS_POLICY_VIOLATION = 1008
# A host name (or bracketed IPv6 literal) and an optional port, as Django validates it.
_HOST_RE = re.compile(rb"([a-z0-9._-]+|\[[a-f0-9]*:[a-f0-9.:]+\])(?::([0-9]{1,5}))?")


def split_host(value: bytes) -> tuple[bytes, bytes]:
    """Split a ``Host`` header into (host, port), lower-cased, without a trailing dot.

    Returns ``(b"", b"")`` unless the value is a plain host name or bracketed IPv6
    literal with an optional numeric port, so a crafted header such as
    ``"a.com:80@evil.com"`` or ``"evil/.example.com"`` never matches or redirects.
    """
    match = _HOST_RE.fullmatch(value.strip().lower())
    if match is None:
        return b"", b""
    host, port = match.group(1, 2)
    return host.rstrip(b"."), port or b""


class TrustedHostMiddleware:
    """Answer 400 ``Invalid host header`` unless the ``Host`` header is allowed.

    ``allowed_hosts`` holds exact host names (``"example.com"``) and wildcard
    patterns (``"*.example.com"``, which matches any subdomain but not
    ``example.com`` itself). ``"*"`` allows every host and is the default, so the
    middleware does nothing until configured. The port is ignored when matching.
    With ``www_redirect=True`` a request for ``example.com`` is redirected (307) to
    ``www.example.com`` when only the latter is allowed. WebSocket connections with
    a bad host are closed with code 1008 before they are accepted.

    Example::

        app.add_middleware(TrustedHostMiddleware, allowed_hosts=["example.com", "*.example.com"])
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        allowed_hosts: Sequence[str] = ("*",),
        www_redirect: bool = True,
    ) -> None:
        if isinstance(allowed_hosts, str):
            raise TypeError("allowed_hosts must be a sequence of strings, not a single string")
        exact: set[bytes] = set()
        suffixes: list[bytes] = []
        for pattern in allowed_hosts:
            if pattern == "*":
                continue
            if not pattern.isascii():
                raise ValueError(f"host pattern {pattern!r} must be ASCII (use the xn-- form)")
            raw = pattern.strip().lower().encode("ascii")
            if raw.startswith(b"*."):
                if b"*" in raw[2:] or len(raw) == 2:
                    raise ValueError(f"invalid host pattern {pattern!r}")
                suffixes.append(raw[1:])  # "*.example.com" -> ".example.com"
            elif b"*" in raw or not raw or (b":" in raw and not raw.startswith(b"[")):
                raise ValueError(
                    f"invalid host pattern {pattern!r}: use 'example.com', '*.example.com' "
                    "or '*' (without a port)"
                )
            else:
                exact.add(raw.rstrip(b"."))
        self.app = app
        self.allow_any = "*" in allowed_hosts
        self.exact_hosts = frozenset(exact)
        self.suffixes = tuple(suffixes)
        self.www_redirect = www_redirect

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # PERF: the default ("*") costs one attribute check per request.
        if self.allow_any or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        raw_host = get_header(scope["headers"], b"host")
        host, port = split_host(raw_host) if raw_host is not None else (b"", b"")
        if host and self.is_allowed(host):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": _WS_POLICY_VIOLATION, "reason": ""})
            return
        if host and self.www_redirect and b"www." + host in self.exact_hosts:
            netloc = b"www." + host + (b":" + port if port else b"")
            await self.redirect(scope, netloc, send)
            return
        await send_plain_text(send, 400, b"Invalid host header")

    def is_allowed(self, host: bytes) -> bool:
        """Return whether a bare host name (no port) matches ``allowed_hosts``."""
        return host in self.exact_hosts or (bool(self.suffixes) and host.endswith(self.suffixes))

    async def redirect(self, scope: Scope, netloc: bytes, send: Send) -> None:
        """Redirect to the same URL on ``netloc`` (307 keeps the method and body)."""
        path: bytes = scope.get("raw_path") or quote(scope["path"]).encode("ascii")
        query: bytes = scope.get("query_string", b"")
        scheme: str = scope.get("scheme", "http")
        location = scheme.encode("ascii") + b"://" + netloc + path
        if query:
            location += b"?" + query
        await send(
            {
                "type": "http.response.start",
                "status": 307,
                "headers": [(b"location", location), (b"content-length", b"0")],
            }
        )
        await send({"type": "http.response.body", "body": b""})
