"""Send plain-HTTP requests to the same URL over HTTPS (Django's ``SECURE_SSL_REDIRECT``)."""

from __future__ import annotations

from plait._hosts import split_host
from plait.middleware._headers import get_header, send_plain_text
from plait.types import ASGIApp, Receive, Scope, Send

__all__ = ["HTTPSRedirectMiddleware"]

_WS_POLICY_VIOLATION = 1008


class HTTPSRedirectMiddleware:
    """Answer every ``http://`` request with a ``308`` to its ``https://`` twin (same host,
    path and query; the method and body are kept by a 308). A ``ws://`` WebSocket is closed
    with 1008. Behind a proxy that terminates TLS, set the trusted proxies
    (``PLAIT_TRUSTED_PROXIES``) so the forwarded scheme is believed, or the redirect loops.

    Example::

        from plait.middleware import HTTPSRedirectMiddleware, SecurityHeadersMiddleware

        app.add_middleware(HTTPSRedirectMiddleware)
        app.add_middleware(SecurityHeadersMiddleware)   # HSTS keeps browsers on HTTPS

    ``https_port`` is the port to redirect to (443 leaves it out of the URL).
    """

    def __init__(self, app: ASGIApp, *, https_port: int = 443) -> None:
        if not 0 < https_port < 65536:
            raise ValueError(f"https_port must be a port number, got {https_port!r}")
        self.app = app
        self.port = b"" if https_port == 443 else b":%d" % https_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http" and scope.get("scheme", "http") == "http":
            host, _ = split_host(get_header(scope["headers"], b"host") or b"")
            if not host:
                await send_plain_text(send, 400, b"Invalid host header")
                return
            path = scope.get("raw_path") or scope["path"].encode("utf-8")
            path = b"/" + path.lstrip(b"/\\")  # never a scheme-relative //other.host
            query: bytes = scope.get("query_string", b"")
            location = b"https://" + host + self.port + path + (b"?" + query if query else b"")
            await send(
                {
                    "type": "http.response.start",
                    "status": 308,
                    "headers": [(b"location", location), (b"content-length", b"0")],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        if kind == "websocket" and scope.get("scheme", "ws") == "ws":
            await send({"type": "websocket.close", "code": _WS_POLICY_VIOLATION, "reason": ""})
            return
        await self.app(scope, receive, send)
