"""Reject requests whose ``Host`` header names a host this app does not serve."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from plait._hosts import AllowedHosts, split_host
from plait.middleware._headers import get_header, send_plain_text
from plait.types import ASGIApp, Receive, Scope, Send

__all__ = ["TrustedHostMiddleware"]

# WebSocket close code 1008: "policy violation".
_WS_POLICY_VIOLATION = 1008


class TrustedHostMiddleware:
    """Answer 400 ``Invalid host header`` unless the ``Host`` header is allowed.

    ``allowed_hosts`` holds exact host names (``"example.com"``) and wildcard
    patterns (``"*.example.com"``, which matches any subdomain but not
    ``example.com`` itself; ``".example.com"``, which matches both, as the app's
    ``ALLOWED_HOSTS`` do). ``"*"`` allows every host and is the default, so the
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
        self.app = app
        self.hosts = AllowedHosts(allowed_hosts)
        self.allow_any = self.hosts.allow_any
        self.exact_hosts = self.hosts.exact
        self.suffixes = self.hosts.suffixes
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
        return self.hosts.matches(host)

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
