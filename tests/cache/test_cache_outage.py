"""A Redis outage under the cache and the rate limits: 503 with Retry-After, one log line,
recovery by itself. Redis is reached through a TCP proxy the test switches off and on (the
shared server is never touched)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from _services import REDIS_URL, TCPProxy
from plait import App
from plait.cache import Cache, RedisBackend
from plait.ratelimit import RateLimiter
from plait.testing import TestClient

pytestmark = pytest.mark.redis


@pytest.fixture
def proxy(redis_prefix: str) -> Iterator[TCPProxy]:
    target = urlsplit(REDIS_URL)
    with TCPProxy(target.hostname or "127.0.0.1", target.port or 6379) as running:
        yield running


def proxied_url(proxy: TCPProxy) -> str:
    return f"redis://127.0.0.1:{proxy.port}{urlsplit(REDIS_URL).path or '/0'}"


def outage_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "plait.outage"]


def test_cache_outage_is_a_503_then_recovers(
    proxy: TCPProxy, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    app = App()
    cache = Cache(app, backend=RedisBackend(proxied_url(proxy)), prefix=redis_prefix)

    @app.get("/count")
    async def count() -> int:
        return await cache.incr("count")

    @app.get("/page")
    @cache.page(ttl=60)
    async def page() -> str:
        return "page"

    @app.get("/plain")
    async def plain() -> str:
        return "no cache here"

    with TestClient(app) as client:
        assert client.get("/count").json() == 1
        assert client.get("/page").text == "page"
        proxy.stop()
        for url in ("/count", "/page") * 3:
            response = client.get(url)
            assert response.status_code == 503
            assert response.headers["retry-after"] == "5"
            assert response.headers["content-type"] == "application/problem+json"
        assert client.get("/plain").status_code == 200
        lines = outage_lines(caplog)
        assert len(lines) == 1, lines
        assert "Redis (cache)" in lines[0]
        proxy.start()
        assert client.get("/count").json() == 2  # nothing restarted, nothing lost
        assert client.get("/page").text == "page"
    assert len(outage_lines(caplog)) == 2  # and one line when it is back


def test_rate_limit_outage_is_a_503_then_recovers(
    proxy: TCPProxy, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    app = App()
    limiter = RateLimiter(app, storage=proxied_url(proxy), prefix=redis_prefix.rstrip(":"))
    limiter.middleware("100/hour", group="site")

    @app.get("/api", dependencies=[limiter.limit("100/hour")])
    async def api() -> str:
        return "api"

    with TestClient(app) as client:
        assert client.get("/api").headers["ratelimit-remaining"] == "99"
        proxy.stop()
        for _ in range(5):
            response = client.get("/api")
            assert response.status_code == 503  # never let through unchecked, never a 500
            assert response.headers["retry-after"] == "5"
        lines = outage_lines(caplog)
        assert len(lines) == 1, lines
        assert "rate limits" in lines[0]
        proxy.start()
        response = client.get("/api")
        assert response.status_code == 200
        assert response.headers["ratelimit-remaining"] == "98"
