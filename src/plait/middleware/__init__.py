"""plait's built-in middleware: pure ASGI classes, added with ``app.add_middleware(cls, **opts)``.

Example::

    from plait import App
    from plait.middleware import CORSMiddleware, GZipMiddleware

    app = App()
    app.add_middleware(GZipMiddleware)
    app.add_middleware(CORSMiddleware, allow_origins=["https://example.com"])
"""

from __future__ import annotations

from plait.middleware._cors import CORSMiddleware
from plait.middleware._gzip import GZipMiddleware
from plait.middleware._httpsredirect import HTTPSRedirectMiddleware
from plait.middleware._proxyheaders import ProxyHeadersMiddleware
from plait.middleware._requestid import RequestIDMiddleware
from plait.middleware._security import SecurityHeadersMiddleware
from plait.middleware._trustedhost import TrustedHostMiddleware

__all__ = [
    "CORSMiddleware",
    "GZipMiddleware",
    "HTTPSRedirectMiddleware",
    "ProxyHeadersMiddleware",
    "RequestIDMiddleware",
    "SecurityHeadersMiddleware",
    "TrustedHostMiddleware",
]
