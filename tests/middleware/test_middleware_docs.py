"""Run the examples in docs/middleware.md and freeze the package's public surface."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest

import plait.middleware
from _docs import DOCS, python_blocks
from plait.types import ASGIApp

EXAMPLES = python_blocks(DOCS / "middleware.md")


def example_app(index: int) -> ASGIApp:
    namespace: dict[str, Any] = {}
    exec(compile(EXAMPLES[index].code, EXAMPLES[index].where, "exec"), namespace)
    app: ASGIApp = namespace["app"]
    return app


def request(app: ASGIApp, method: str, url: str, **kwargs: Any) -> httpx.Response:
    async def main() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport) as client:
            return await client.request(method, url, **kwargs)

    return asyncio.run(main())


def test_public_surface() -> None:
    assert plait.middleware.__all__ == [
        "CORSMiddleware",
        "GZipMiddleware",
        "HTTPSRedirectMiddleware",
        "ProxyHeadersMiddleware",
        "RequestIDMiddleware",
        "SecurityHeadersMiddleware",
        "TrustedHostMiddleware",
    ]
    for name in plait.middleware.__all__:
        assert getattr(plait.middleware, name).__module__.startswith("plait.middleware._")


def test_app_example() -> None:
    try:
        from plait import App  # noqa: F401
    except ImportError:  # pragma: no cover - the core is developed alongside
        pytest.skip("plait.App is not available")
    app = example_app(0)
    origin = {"origin": "https://app.example.com"}
    ok = request(app, "GET", "https://api.example.com/", headers=origin)
    assert ok.status_code == 200
    assert ok.text == "Hello, World!"
    assert ok.headers["access-control-allow-origin"] == "https://app.example.com"
    assert ok.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    assert ok.headers["content-security-policy"] == "default-src 'self'"
    assert re.fullmatch("[0-9a-f]{32}", ok.headers["x-request-id"])

    bad = request(app, "GET", "http://evil.test/", headers=origin)
    assert bad.status_code == 400
    assert bad.json()["detail"] == "Invalid host header"

    preflight = {**origin, "access-control-request-method": "DELETE"}
    denied = request(app, "OPTIONS", "http://example.com/", headers=preflight)
    assert denied.status_code == 400
    assert denied.text == "Disallowed CORS method"


def test_plain_asgi_example() -> None:
    app = example_app(1)
    response = request(app, "GET", "http://test/", headers={"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == b"hello " * 1000
    raw = request(app, "GET", "http://test/", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in raw.headers
    assert raw.content == b"hello " * 1000
