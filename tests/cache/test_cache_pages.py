"""``@cache.page``: whole responses cached per route, on memory and on Redis."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from cache_services import CacheFactory

from plait import App, Request, Response
from plait.cache import Cache
from plait.sessions import MemoryStore, Sessions
from plait.testing import AsyncTestClient, TestClient


def counting_app(make_cache: CacheFactory, **page: Any) -> tuple[App, list[str]]:
    app = App()
    cache = make_cache(app)
    calls: list[str] = []

    @app.get("/news")
    @cache.page(ttl=60, **page)
    async def news(request: Request) -> Response:
        calls.append(request.url.path)
        return Response(f"news #{len(calls)}", media_type="text/plain")

    @app.get("/items/{item_id:int}")
    @cache.page(ttl=60)
    async def item(item_id: int) -> dict[str, int]:
        calls.append(f"item {item_id}")
        return {"id": item_id, "version": len(calls)}

    @app.get("/live")
    async def live() -> str:
        calls.append("live")
        return f"live #{len(calls)}"

    return app, calls


def test_a_page_is_rendered_once_then_served_from_the_cache(make_cache: CacheFactory) -> None:
    app, calls = counting_app(make_cache)
    with TestClient(app) as client:
        first = client.get("/news")
        second = client.get("/news")
        assert first.status_code == second.status_code == 200
        assert first.text == second.text == "news #1"
        assert second.headers["content-type"] == "text/plain; charset=utf-8"
        assert second.headers["cache-control"] == "max-age=60"
        assert first.headers["etag"] == second.headers["etag"]
        assert "age" not in first.headers
        assert int(second.headers["age"]) >= 0
        head = client.head("/news")
        assert head.status_code == 200
        assert head.content == b""
        assert head.headers["etag"] == first.headers["etag"]
        # Path parameters and query strings are separate pages; other routes are untouched.
        assert client.get("/items/1").json() == {"id": 1, "version": 2}
        assert client.get("/items/1").json() == {"id": 1, "version": 2}
        assert client.get("/items/2").json() == {"id": 2, "version": 3}
        assert client.get("/news?page=2").text == "news #4"
        assert client.get("/live").text == "live #5"
        assert client.get("/live").text == "live #6"
    assert calls.count("/news") == 2


def test_if_none_match_gets_a_304(make_cache: CacheFactory) -> None:
    app, calls = counting_app(make_cache)
    with TestClient(app) as client:
        etag = client.get("/news").headers["etag"]
        assert etag.startswith('"')
        assert etag.endswith('"')
        cached = client.get("/news", headers={"If-None-Match": etag})
        assert cached.status_code == 304
        assert cached.content == b""
        assert cached.headers["etag"] == etag
        weak = client.get("/news", headers={"If-None-Match": f'"other", W/{etag}'})
        assert weak.status_code == 304
        assert client.get("/news", headers={"If-None-Match": '"other"'}).status_code == 200
    assert calls == ["/news"]
    # A client that revalidates against a fresh render gets its 304 too.
    app, _ = counting_app(make_cache)
    with TestClient(app) as client:
        fresh = client.get("/items/9", headers={"If-None-Match": etag})
        assert fresh.status_code == 200
        again = client.get("/items/7")
        other_app, _ = counting_app(make_cache)
    with TestClient(other_app) as client:
        # A second "node" on the same backend serves the first node's render.
        revalidated = client.get("/items/7", headers={"If-None-Match": again.headers["etag"]})
        assert revalidated.status_code == 304


def test_vary_keeps_variants_apart(make_cache: CacheFactory) -> None:
    app = App()
    cache = make_cache(app)
    calls: list[str] = []

    @app.get("/hello")
    @cache.page(ttl=60, vary=["Accept-Language"])
    async def hello(request: Request) -> str:
        language = request.headers.get("accept-language", "en")
        calls.append(language)
        return {"fr": "bonjour", "en": "hello"}[language]

    @app.get("/encoded")
    @cache.page(ttl=60)
    async def encoded(request: Request) -> Response:
        # A handler that sets Vary itself: learned from the response, as Django does.
        gzip = "gzip" in request.headers.get("accept-encoding", "")
        calls.append(f"gzip={gzip}")
        return Response(b"zipped" if gzip else b"plain", headers={"Vary": "Accept-Encoding"})

    with TestClient(app) as client:
        for _ in range(2):
            assert client.get("/hello", headers={"Accept-Language": "fr"}).text == "bonjour"
            response = client.get("/hello", headers={"Accept-Language": "en"})
            assert response.text == "hello"
            assert response.headers["vary"] == "Accept-Language"
            assert client.get("/encoded", headers={"Accept-Encoding": "gzip"}).text == "zipped"
            assert client.get("/encoded", headers={"Accept-Encoding": "br"}).text == "plain"
    assert calls == ["fr", "en", "gzip=True", "gzip=False"]


def test_responses_that_must_not_be_stored(make_cache: CacheFactory) -> None:
    app = App()
    cache = make_cache(app)
    calls: list[str] = []

    def page(name: str, **headers: str) -> Any:
        @cache.page(ttl=60)
        async def handler() -> Response:
            calls.append(name)
            return Response(name, headers=headers)

        app.get(f"/{name}")(handler)
        return handler

    page("cookie", **{"Set-Cookie": "theme=dark"})
    page("no-store", **{"Cache-Control": "no-store"})
    page("private", **{"Cache-Control": "private, max-age=60"})
    page("star", Vary="*")

    @app.get("/missing")
    @cache.page(ttl=60)
    async def missing() -> Response:
        calls.append("missing")
        return Response("nope", status_code=404)

    @app.post("/news")
    @cache.page(ttl=60)
    async def post() -> str:
        calls.append("post")
        return "posted"

    with TestClient(app) as client:
        for _ in range(2):
            for name in ("cookie", "no-store", "private", "star", "missing"):
                client.get(f"/{name}")
            client.post("/news")
    assert sorted(calls) == sorted(["cookie", "no-store", "private", "star", "missing", "post"] * 2)


def log_in(client: TestClient, name: str) -> dict[str, str]:
    """Log ``name`` in; the ``Cookie`` header of their session (the client keeps none: one
    client plays several users, as a Redis client belongs to one client's event loop)."""
    client.post(f"/login/{name}")
    cookie = f"plait_session={client.cookies['plait_session']}"
    client.cookies.clear()
    return {"Cookie": cookie}


def app_with_users(make_cache: CacheFactory, **page: Any) -> tuple[App, Cache, list[str]]:
    """An app with sessions, ``POST /login/{name}`` and ``GET /me`` cached with ``page``."""
    app = App()
    cache = make_cache(app)
    Sessions(app, store=MemoryStore())
    calls: list[str] = []

    @app.post("/login/{name}")
    async def login(name: str, request: Request) -> str:
        request.session["user"] = name
        return "ok"

    @app.get("/me")
    @cache.page(ttl=60, **page)
    async def me(request: Request) -> str:
        user = request.session.get("user", "anonymous")
        calls.append(user)
        return f"hello {user}"

    return app, cache, calls


def test_pages_that_depend_on_the_user_are_never_shared(make_cache: CacheFactory) -> None:
    app, cache, calls = app_with_users(make_cache)

    @app.get("/token")
    @cache.page(ttl=60)
    async def token(request: Request) -> str:
        calls.append("token")
        return request.headers.get("authorization", "none")

    with TestClient(app) as client:
        assert client.get("/me").text == "hello anonymous"
        assert client.get("/me").text == "hello anonymous"  # shared by cookie-less visitors
        assert client.get("/me").headers["vary"] == "Cookie"
        ada, bob = log_in(client, "ada"), log_in(client, "bob")
        for _ in range(2):
            assert client.get("/me", headers=ada).text == "hello ada"
            assert client.get("/me", headers=bob).text == "hello bob"
        assert client.get("/token", headers={"Authorization": "Bearer a"}).text == "Bearer a"
        assert client.get("/token", headers={"Authorization": "Bearer b"}).text == "Bearer b"
    assert calls == ["anonymous", "ada", "bob", "ada", "bob", "token", "token"]


def test_per_user_pages_are_stored_per_cookie(make_cache: CacheFactory) -> None:
    app, _, calls = app_with_users(make_cache, per_user=True)
    with TestClient(app) as client:
        ada, bob = log_in(client, "ada"), log_in(client, "bob")
        for _ in range(3):
            assert client.get("/me", headers=ada).text == "hello ada"
            response = client.get("/me", headers=bob)
            assert response.text == "hello bob"
        assert response.headers["cache-control"] == "private, max-age=60"
    assert calls == ["ada", "bob"]


def test_large_and_streamed_bodies(make_cache: CacheFactory) -> None:
    app = App()
    cache = make_cache(app)
    calls: list[str] = []

    @app.get("/big")
    @cache.page(ttl=60, max_size=1000)
    async def big() -> Response:
        calls.append("big")
        return Response(b"x" * 2000)

    with TestClient(app) as client:
        assert len(client.get("/big").content) == 2000
        assert len(client.get("/big").content) == 2000
    assert calls == ["big", "big"]


def test_concurrent_misses_render_a_page_once(make_cache: CacheFactory) -> None:
    app = App()
    cache = make_cache(app)
    calls: list[str] = []

    @app.get("/slow")
    @cache.page(ttl=60)
    async def slow() -> str:
        calls.append("slow")
        await asyncio.sleep(0.2)
        return "done"

    async def scenario() -> None:
        async with AsyncTestClient(app) as client:
            responses = await asyncio.gather(*(client.get("/slow") for _ in range(20)))
        assert [r.text for r in responses] == ["done"] * 20

    asyncio.run(scenario())
    assert calls == ["slow"]


def test_stale_pages_are_served_while_one_request_refreshes(make_cache: CacheFactory) -> None:
    app = App()
    cache = make_cache(app)
    calls: list[str] = []

    @app.get("/report")
    @cache.page(ttl=0.2, stale=30)
    async def report() -> str:
        calls.append("report")
        await asyncio.sleep(0.2)
        return f"report #{len(calls)}"

    async def scenario() -> None:
        async with AsyncTestClient(app) as client:
            assert (await client.get("/report")).text == "report #1"
            await asyncio.sleep(0.3)
            responses = await asyncio.gather(*(client.get("/report") for _ in range(10)))
            texts = [r.text for r in responses]
            assert set(texts) == {"report #1", "report #2"}  # one refresh, the rest stale
            assert texts.count("report #1") >= 5
            assert (await client.get("/report")).text == "report #2"

    asyncio.run(scenario())
    assert calls == ["report", "report"]


def test_page_needs_the_app() -> None:
    with pytest.raises(RuntimeError, match=r"Cache\(app\)"):
        Cache().page(ttl=60)


def test_the_response_max_age_shortens_the_ttl(make_cache: CacheFactory) -> None:
    app = App()
    cache = make_cache(app)
    calls: list[str] = []

    def page(name: str, control: str) -> None:
        @cache.page(ttl=60)
        async def handler() -> Response:
            calls.append(name)
            return Response(name, headers={"Cache-Control": control})

        app.get(f"/{name}")(handler)

    page("short", "public, max-age=0")  # stale at once: never stored
    page("shared", "max-age=600, s-maxage=0")  # a shared cache (this one) must not keep it
    page("brief", "max-age=1")

    with TestClient(app) as client:
        for _ in range(2):
            assert client.get("/short").headers["cache-control"] == "public, max-age=0"
            client.get("/shared")
            client.get("/brief")
        time.sleep(1.1)
        client.get("/brief")
    assert calls == ["short", "shared", "brief", "short", "shared", "brief"]


def test_a_head_request_first_is_not_stored_with_a_wrong_etag(make_cache: CacheFactory) -> None:
    app, calls = counting_app(make_cache)
    with TestClient(app) as client:
        head = client.head("/news")
        assert head.status_code == 200
        assert "etag" not in head.headers  # no body to hash: no ETag made up
        get = client.get("/news")
        assert get.text == "news #2"  # the HEAD was not stored: the GET rendered
        assert client.head("/news").headers["etag"] == get.headers["etag"]
    assert calls == ["/news", "/news"]
