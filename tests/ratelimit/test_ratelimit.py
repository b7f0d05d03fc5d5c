"""plait.ratelimit on memory and on Redis: as a dependency and as middleware."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from ratelimit_services import LimiterFactory

from _services import REDIS_URL
from plait import App, Depends, Request
from plait.ratelimit import RateLimit, RateLimiter, RateLimitMiddleware
from plait.testing import TestClient


def limited_app(make_limiter: LimiterFactory, limit: str, **options: Any) -> App:
    app = App()
    limiter = make_limiter(app)

    @app.get("/search", dependencies=[limiter.limit(limit, **options)])
    async def search() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/free")
    async def free() -> str:
        return "free"

    return app


def test_a_dependency_counts_and_refuses_with_429(make_limiter: LimiterFactory) -> None:
    app = limited_app(make_limiter, "3/hour")  # long windows: no window edge mid-test
    with TestClient(app) as client:
        for remaining in (2, 1, 0):
            response = client.get("/search")
            assert response.status_code == 200
            assert response.json() == {"ok": True}
            assert response.headers["ratelimit-limit"] == "3"
            assert response.headers["ratelimit-remaining"] == str(remaining)
            assert 0 < int(response.headers["ratelimit-reset"]) <= 3600
            assert response.headers["ratelimit-policy"] == "3;w=3600"
            assert "retry-after" not in response.headers
        refused = client.get("/search")
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        problem = refused.json()
        assert problem["status"] == 429
        assert problem["title"] == "Too Many Requests"
        assert "3/hour" in problem["detail"]
        assert 0 < int(refused.headers["retry-after"]) <= 3600
        assert refused.headers["ratelimit-remaining"] == "0"
        # Other routes are not limited.
        assert client.get("/free").status_code == 200
        assert "ratelimit-limit" not in client.get("/free").headers


@pytest.mark.parametrize("strategy", ["fixed", "moving"])
def test_the_window_frees_requests_again(make_limiter: LimiterFactory, strategy: str) -> None:
    app = limited_app(make_limiter, "2/second", strategy=strategy)
    with TestClient(app) as client:
        statuses = [client.get("/search").status_code for _ in range(6)]
        assert statuses[:2] == [200, 200]
        assert 429 in statuses  # (a fixed window's edge may fall between two requests)
        time.sleep(1.1)
        assert client.get("/search").status_code == 200


def test_a_moving_window_is_exact(make_limiter: LimiterFactory) -> None:
    app = limited_app(make_limiter, "3/2second", strategy="moving")
    with TestClient(app) as client:
        assert [client.get("/search").status_code for _ in range(4)] == [200, 200, 200, 429]


def test_sliding_windows_count_the_previous_window(make_limiter: LimiterFactory) -> None:
    app = limited_app(make_limiter, "4/2second", strategy="sliding")
    with TestClient(app) as client:
        statuses = [client.get("/search").status_code for _ in range(8)]
        assert statuses[:4] == [200] * 4
        assert 429 in statuses
        # In the next window, the four hits of the previous one still weigh in: a fixed
        # window would allow four at once again.
        deadline = time.monotonic() + 5
        while client.get("/search").status_code == 429:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        statuses = [client.get("/search").status_code for _ in range(4)]
        assert 429 in statuses


def test_per_api_key_and_per_user(make_limiter: LimiterFactory) -> None:
    app = App()
    limiter = make_limiter(app)

    class User:
        def __init__(self, id: int) -> None:
            self.id = id

    class FakeAuth:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            name = dict(scope["headers"]).get(b"x-user")
            if name:
                scope["user"] = User(int(name))
            await self.app(scope, receive, send)

    app.add_middleware(FakeAuth)

    @app.get("/api", dependencies=[limiter.limit("2/hour", key="api_key")])
    async def api() -> str:
        return "api"

    @app.get("/me", dependencies=[limiter.limit("2/hour", key="user")])
    async def me() -> str:
        return "me"

    with TestClient(app) as client:
        for key in ("one", "two"):
            statuses = [
                client.get("/api", headers={"X-API-Key": key}).status_code for _ in range(3)
            ]
            assert statuses == [200, 200, 429]
        bearer = {"Authorization": "Bearer three"}
        assert [client.get("/api", headers=bearer).status_code for _ in range(3)] == [
            200,
            200,
            429,
        ]
        for user in ("1", "2"):
            statuses = [client.get("/me", headers={"X-User": user}).status_code for _ in range(3)]
            assert statuses == [200, 200, 429]
        # Anonymous visitors count by address.
        assert [client.get("/me").status_code for _ in range(3)] == [200, 200, 429]


def test_groups_share_a_budget_and_methods_filter(make_limiter: LimiterFactory) -> None:
    app = App()
    limiter = make_limiter(app)
    shared = limiter.limit("2/hour", group="auth", methods=["POST"])

    @app.route("/login", methods=["GET", "POST"], dependencies=[shared])
    async def login() -> str:
        return "login"

    @app.post("/signup", dependencies=[shared])
    async def signup() -> str:
        return "signup"

    with TestClient(app) as client:
        assert all(client.get("/login").status_code == 200 for _ in range(5))  # GET: free
        assert client.post("/login").status_code == 200
        assert client.post("/signup").status_code == 200
        assert client.post("/login").status_code == 429
        assert client.post("/signup").status_code == 429


def test_middleware_limits_every_request(make_limiter: LimiterFactory) -> None:
    app = App()
    limiter = make_limiter(app)
    rule = limiter.middleware("3/hour")

    @app.get("/a")
    async def a() -> str:
        return "a"

    @app.get("/b")
    async def b() -> str:
        return "b"

    with TestClient(app) as client:
        first = client.get("/a")
        assert first.headers["ratelimit-remaining"] == "2"
        assert client.get("/b").status_code == 200
        assert client.get("/missing").status_code == 404  # counted too
        refused = client.get("/a")
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["status"] == 429
        assert int(refused.headers["retry-after"]) > 0
    assert rule.group == "app"


def test_middleware_added_directly(make_limiter: LimiterFactory) -> None:
    app = App()
    limiter = make_limiter(app)
    app.add_middleware(
        RateLimitMiddleware, rule=RateLimit("1/hour", limiter=limiter, methods=["POST"])
    )

    @app.route("/", methods=["GET", "POST"])
    async def index() -> str:
        return "ok"

    with TestClient(app) as client:
        assert client.get("/").status_code == 200
        assert client.post("/").status_code == 200
        assert client.post("/").status_code == 429
        assert client.get("/").status_code == 200
    with pytest.raises(ValueError, match="limiter"):
        RateLimitMiddleware(app, rule=RateLimit("1/minute"))


def test_a_rule_as_a_parameter_dependency(make_limiter: LimiterFactory) -> None:
    app = App()
    limiter = make_limiter(app)
    rule = RateLimit("1/hour", key=lambda scope: scope["query_string"].decode() or None)

    @app.get("/q")
    async def q(request: Request, _: None = Depends(rule)) -> str:
        return "ok"

    with TestClient(app) as client:
        assert client.get("/q?a").status_code == 200
        assert client.get("/q?a").status_code == 429
        assert client.get("/q?b").status_code == 200
        # A key function that answers None exempts the request.
        assert all(client.get("/q").status_code == 200 for _ in range(3))
    assert limiter is RateLimiter.of(app)


@pytest.mark.redis
def test_limits_hold_across_processes(redis_prefix: str) -> None:
    """Two limiters on one Redis (two nodes of an app) share the count: N per cluster."""

    def node() -> App:
        def make(app: App | None = None) -> RateLimiter:
            return RateLimiter(app, storage=REDIS_URL, prefix=redis_prefix)

        return limited_app(make, "4/hour")

    with TestClient(node()) as node_a, TestClient(node()) as node_b:
        statuses = [(node_a if i % 2 else node_b).get("/search").status_code for i in range(6)]
    assert statuses == [200, 200, 200, 200, 429, 429]


def test_disabled_limiter_and_bad_rules(make_limiter: LimiterFactory) -> None:
    app = App()
    limiter = make_limiter(app, enabled=False)

    @app.get("/", dependencies=[limiter.limit("1/minute")])
    async def index() -> str:
        return "ok"

    with TestClient(app) as client:
        assert all(client.get("/").status_code == 200 for _ in range(3))
    with pytest.raises(ValueError, match="invalid rate limit"):
        RateLimit("lots")
    with pytest.raises(ValueError, match="strategy"):
        RateLimit("1/minute", strategy="leaky")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="key"):
        RateLimit("1/minute", key="cookie")  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="RateLimiter"):
        RateLimiter().middleware("1/minute")


def test_several_limits_in_one_rule(make_limiter: LimiterFactory) -> None:
    app = limited_app(make_limiter, "2/hour;5/day", strategy="moving")
    with TestClient(app) as client:
        first = client.get("/search")
        assert first.headers["ratelimit-limit"] == "2"  # the closest to refusing
        assert first.headers["ratelimit-policy"] == "2;w=3600, 5;w=86400"
        assert client.get("/search").status_code == 200
        assert client.get("/search").status_code == 429


def test_storage_follows_redis_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PLAIT_REDIS_URL", raising=False)
    assert RateLimiter().url == "memory://"
    monkeypatch.setenv("PLAIT_REDIS_URL", "redis://example.invalid:6390/3")
    assert RateLimiter().url == "redis://example.invalid:6390/3"


def test_api_keys_are_never_stored_in_clear(redis_prefix: str) -> None:
    import redis

    async def scenario() -> None:
        limiter = RateLimiter(storage=REDIS_URL, prefix=redis_prefix)
        rule = RateLimit("5/minute", limiter=limiter, key="api_key", group="api")
        scope = {"type": "http", "headers": [(b"x-api-key", b"secret-key-123")]}
        decision = await rule.hit(scope, limiter)
        assert decision is not None
        assert decision.remaining == 4
        await limiter.close()

    asyncio.run(scenario())
    client = redis.Redis.from_url(REDIS_URL)
    keys = [key.decode() for key in client.scan_iter(match=redis_prefix + "*")]
    client.close()
    assert keys
    assert not any("secret-key-123" in key for key in keys)


def test_rules_without_headers_still_refuse(make_limiter: LimiterFactory) -> None:
    app = limited_app(make_limiter, "2/hour", headers=False)
    with TestClient(app) as client:
        allowed = [client.get("/search") for _ in range(2)]
        assert all(r.status_code == 200 for r in allowed)
        assert all("ratelimit-limit" not in r.headers for r in allowed)
        refused = client.get("/search")
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) > 0
    site = App()
    make_limiter(site).middleware("1/hour", headers=False)

    @site.get("/")
    async def home() -> str:
        return "home"

    with TestClient(site) as client:
        assert "ratelimit-limit" not in client.get("/").headers
        assert client.get("/").status_code == 429
