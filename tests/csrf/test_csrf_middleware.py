"""plait.csrf: tokens, origin and referer checks, failures, exemptions."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from plait import App, PlainTextResponse, Request, Response
from plait.csrf import CSRF, CSRFMiddleware, csrf_exempt, csrf_token, rotate_token
from plait.csrf._tokens import SECRET_LENGTH, TOKEN_LENGTH, mask, matches, new_secret
from plait.testing import TestClient


def make_app(**options: Any) -> App:
    app = App()
    CSRF(app, **options)

    @app.get("/token")
    def token(request: Request) -> str:
        return csrf_token(request)

    @app.get("/plain")
    def plain() -> str:
        return "no token asked"

    @app.post("/submit")
    async def submit(request: Request) -> dict[str, Any]:
        form = await request.form()
        return {"fields": sorted(form.keys())}

    @app.post("/api/items")
    async def api(request: Request) -> dict[str, Any]:
        return {"got": await request.json()}

    @app.route("/anything", methods=["GET", "HEAD", "OPTIONS", "TRACE", "POST", "DELETE"])
    def anything() -> str:
        return "ok"

    return app


def get_token(client: TestClient) -> str:
    response = client.get("/token")
    assert response.status_code == 200
    return response.json() if response.text.startswith('"') else response.text


def test_safe_methods_pass_and_token_sets_the_cookie() -> None:
    with TestClient(make_app()) as client:
        for method in ("GET", "HEAD", "OPTIONS", "TRACE"):
            assert client.request(method, "/anything").status_code == 200
        plain = client.get("/plain")
        assert "set-cookie" not in plain.headers  # nobody asked for a token
        assert "vary" not in plain.headers
        response = client.get("/token")
        cookie = response.headers["set-cookie"]
        assert re.fullmatch(
            r"csrftoken=[A-Za-z0-9]{32}; Max-Age=31449600; Path=/; SameSite=Lax", cookie
        )
        assert response.headers["vary"] == "Cookie"
        assert len(response.text) == TOKEN_LENGTH
        # The cookie is set once: later tokens reuse the secret it carries.
        again = client.get("/token")
        assert "set-cookie" not in again.headers
        assert matches(again.text, client.cookies["csrftoken"])


def test_form_posts_with_missing_wrong_and_good_tokens() -> None:
    with TestClient(make_app()) as client:
        no_cookie = client.post("/submit", data={"a": "1"})
        assert (no_cookie.status_code, no_cookie.text) == (403, "Forbidden: CSRF cookie not set.")
        token = get_token(client)
        missing = client.post("/submit", data={"a": "1"})
        assert (missing.status_code, missing.text) == (403, "Forbidden: CSRF token missing.")
        wrong = client.post("/submit", data={"a": "1", "csrf_token": mask(new_secret())})
        assert (wrong.status_code, wrong.text) == (403, "Forbidden: CSRF token incorrect.")
        for bad in ("short", "é" * TOKEN_LENGTH, token[:-1] + "!"):
            assert client.post("/submit", data={"csrf_token": bad}).status_code == 403
        good = client.post("/submit", data={"a": "1", "csrf_token": token})
        assert good.status_code == 200
        assert good.json() == {"fields": ["a", "csrf_token"]}


def test_masked_tokens_differ_per_call_and_all_validate() -> None:
    with TestClient(make_app()) as client:
        tokens = {get_token(client) for _ in range(5)}
        assert len(tokens) == 5
        secret = client.cookies["csrftoken"]
        assert len(secret) == SECRET_LENGTH
        assert all(secret not in token for token in tokens)
        for token in tokens:
            assert client.post("/submit", data={"csrf_token": token}).status_code == 200
        # The bare secret (read from the cookie by a script) is accepted too, as in Django.
        assert client.post("/submit", data={"csrf_token": secret}).status_code == 200


def test_header_token_for_fetch_and_json_problem_on_failure() -> None:
    with TestClient(make_app()) as client:
        token = get_token(client)
        ok = client.post("/api/items", json={"x": 1}, headers={"X-CSRF-Token": token})
        assert ok.json() == {"got": {"x": 1}}
        refused = client.post("/api/items", json={"x": 1}, headers={"accept": "application/json"})
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json() == {
            "type": "about:blank",
            "title": "Forbidden",
            "status": 403,
            "detail": "CSRF token missing.",
        }
        # A JSON body without Accept still gets JSON; a browser gets a short page.
        assert client.post("/api/items", json={}).json()["detail"] == "CSRF token missing."
        page = client.post("/submit", data={}, headers={"accept": "text/html,*/*"})
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert "CSRF verification failed" in page.text
        assert "CSRF token missing." in page.text


def test_origin_must_be_the_site_or_trusted() -> None:
    app = make_app(trusted_origins=["https://admin.example.com", "https://*.partner.org"])
    with TestClient(app) as client:
        token = get_token(client)
        headers = {"X-CSRF-Token": token}

        def post(origin: str) -> Any:
            return client.post("/anything", headers={**headers, "origin": origin})

        assert post("http://testserver").status_code == 200
        assert post("HTTP://TestServer:80").status_code == 200  # same origin, spelled apart
        evil = post("https://evil.example")
        assert evil.status_code == 403
        assert evil.text == (
            "Forbidden: Origin checking failed - https://evil.example does not match any "
            "trusted origins."
        )
        assert post("null").status_code == 403
        assert post("https://testserver").status_code == 403  # another scheme is another site
        assert post("http://testserver:8080").status_code == 403
        assert post("https://admin.example.com").status_code == 200
        assert post("https://a.b.partner.org").status_code == 200
        assert post("https://partner.org.evil.com").status_code == 403
        assert post("http://a.partner.org").status_code == 403
        # The origin check comes first: a good token does not help a foreign origin.
        assert post("https://evil.example").status_code == 403


def test_referer_is_checked_over_https_without_origin() -> None:
    app = make_app(trusted_origins=["https://admin.example.com"])
    with TestClient(app, base_url="https://testserver") as client:
        page = client.get("/token")
        assert "; Secure" in page.headers["set-cookie"]
        headers = {"X-CSRF-Token": page.text}

        def post(**extra: str) -> Any:
            return client.post("/anything", headers={**headers, **extra})

        assert post().text == "Forbidden: Referer checking failed - no Referer."
        insecure = post(referer="http://testserver/form")
        assert insecure.text == (
            "Forbidden: Referer checking failed - Referer is insecure while host is secure."
        )
        assert post(referer="not a url").text == (
            "Forbidden: Referer checking failed - Referer is malformed."
        )
        assert post(referer="https://evil.example/x").status_code == 403
        assert post(referer="https://testserver/form?x=1").status_code == 200
        assert post(referer="https://testserver:443/form").status_code == 200
        assert post(referer="https://admin.example.com/").status_code == 200
        assert post(origin="https://testserver").status_code == 200  # Origin wins when sent
    # Over plain HTTP no Referer is needed (Django's rule: it is only checked on HTTPS).
    with TestClient(app) as client:
        assert client.post("/anything", headers={"X-CSRF-Token": get_token(client)}).text == "ok"


def test_exempt_prefixes_and_routes() -> None:
    app = make_app(exempt=["/api", "/hooks/"])

    @app.post("/webhooks/{source}/events")
    @csrf_exempt
    def hook(source: str) -> str:
        return source

    @app.post("/apiary")
    def apiary() -> str:
        return "bees"

    with TestClient(app) as client:
        assert client.post("/api/items", json={"x": 1}).status_code == 200
        assert client.post("/webhooks/stripe/events").text == "stripe"
        assert client.post("/webhooks/stripe/other").status_code == 403  # another path
        assert client.post("/apiary").status_code == 403  # a prefix is a whole segment
        assert client.post("/submit").status_code == 403
    with TestClient(app, root_path="/mounted") as client:
        assert client.post("/api/items", json={"x": 2}).status_code == 200


def test_failure_handler() -> None:
    def forbidden(request: Request, reason: str) -> Response:
        return PlainTextResponse(f"custom: {reason} {request.method}", status_code=403)

    def broken(request: Request, reason: str) -> Response:
        raise RuntimeError("oops")

    with TestClient(make_app(on_failure=forbidden)) as client:
        assert client.post("/submit").text == "custom: CSRF cookie not set. POST"
    with TestClient(make_app(on_failure=broken)) as client:
        response = client.post("/submit")
        assert (response.status_code, response.text) == (403, "Forbidden: CSRF cookie not set.")


def test_options_are_checked_when_built() -> None:
    with pytest.raises(ValueError, match="scheme://host"):
        CSRF(App(), trusted_origins=["example.com"])
    with pytest.raises(TypeError):
        CSRF(App(), trusted_origins="https://example.com")
    with pytest.raises(ValueError, match="start with '/'"):
        CSRF(App(), exempt=["api"])
    app = App()
    CSRF(app)
    with pytest.raises(RuntimeError, match="already has CSRF"):
        CSRF(app)


def test_csrf_token_without_the_middleware_is_a_clear_error() -> None:
    app = App()

    @app.get("/")
    def index(request: Request) -> str:
        return csrf_token(request)

    app.debug = app.errors.debug = True
    with TestClient(app) as client:
        response = client.get("/")
    assert response.status_code == 500
    assert "csrf_token() needs the CSRF middleware: add CSRF(app)" in response.text


def test_cookie_options_and_websockets_pass() -> None:
    seen: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])
        if scope["type"] == "http":
            scope["csrf_token"]()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})

    middleware = CSRFMiddleware(
        inner,
        cookie_name="xsrf",
        cookie_secure=True,
        cookie_httponly=True,
        cookie_samesite="strict",
        cookie_domain="example.com",
        cookie_max_age=None,
    )
    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {"type": "http.disconnect"}

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "scheme": "http"}
    asyncio.run(middleware(scope, receive, send))
    cookie = dict(sent[0]["headers"])[b"set-cookie"].decode()
    assert re.fullmatch(
        r"xsrf=[A-Za-z0-9]{32}; Domain=example.com; HttpOnly; Path=/; SameSite=Strict; Secure",
        cookie,
    )
    asyncio.run(middleware({"type": "websocket", "path": "/", "headers": []}, receive, send))
    assert seen == ["http", "websocket"]


def test_rotate_token_on_login_invalidates_earlier_tokens() -> None:
    app = make_app()

    @app.post("/login")
    def login(request: Request) -> str:
        rotate_token(request)
        return "signed in"

    with TestClient(app) as client:
        before = get_token(client)
        old_secret = client.cookies["csrftoken"]
        response = client.post("/login", headers={"X-CSRF-Token": before})
        assert response.text == "signed in"
        assert "csrftoken=" in response.headers["set-cookie"]
        assert client.cookies["csrftoken"] != old_secret
        assert client.post("/submit", data={"csrf_token": before}).status_code == 403
        assert client.post("/submit", data={"csrf_token": get_token(client)}).status_code == 200
    rotate_token(Request({"type": "http", "headers": []}))  # no middleware: nothing to do


def test_malformed_input_is_a_403_never_a_500() -> None:
    with TestClient(make_app()) as client:
        token = get_token(client)
        for origin in (b"http://[::1", b"://", b"http://", "é".encode()):
            headers = {b"x-csrf-token": token.encode(), b"origin": origin}
            response = client.post("/anything", headers=headers)
            assert response.status_code == 403, origin
        broken = client.post(
            "/submit",
            content=b"--zzz\r\nContent-Disposition: form-data; name=csrf_token\r\n\r\n"
            + token.encode(),
            headers={"content-type": "multipart/form-data; boundary=zzz"},
        )
        assert (broken.status_code, broken.text) == (403, "Forbidden: CSRF token missing.")
        no_boundary = client.post(
            "/submit", content=b"x", headers={"content-type": "multipart/form-data"}
        )
        assert no_boundary.status_code == 403
    with TestClient(make_app(), base_url="https://testserver") as client:
        malformed = {"X-CSRF-Token": get_token(client), "referer": "https://[::1/x"}
        assert client.post("/anything", headers=malformed).status_code == 403


def form_post_scope(secret: str, *extra: tuple[bytes, bytes]) -> dict[str, Any]:
    """The ASGI scope of a same-origin form POST to /submit with the CSRF cookie ``secret``,
    for tests that drive the app's ASGI callable by hand."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/submit",
        "raw_path": b"/submit",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"origin", b"http://testserver"),
            (b"cookie", f"csrftoken={secret}".encode()),
            (b"content-type", b"application/x-www-form-urlencoded"),
            *extra,
        ],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }


def test_a_form_body_that_stops_coming_is_a_408() -> None:
    # The middleware reads the body for the token before the app does: it times out too.
    app = App(body_timeout=0.2)
    CSRF(app)

    @app.post("/submit")
    async def submit(request: Request) -> str:
        return "never reached"

    secret = new_secret()
    scope = form_post_scope(secret, (b"accept", b"application/json"))
    sent: list[Any] = []
    pieces = [{"type": "http.request", "body": b"title=a&csrf_tok", "more_body": True}]

    async def receive() -> Any:
        if pieces:
            return pieces.pop()
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async def send(message: Any) -> None:
        sent.append(message)

    app.build()
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 408
    assert b"did not arrive in time" in b"".join(m.get("body", b"") for m in sent[1:])


def test_the_token_in_a_form_is_read_without_an_asyncio_loop_too() -> None:
    app = App(body_timeout=5)
    CSRF(app)

    @app.post("/submit")
    async def submit(request: Request) -> str:
        return "ok"

    app.build()
    secret = new_secret()
    body = f"csrf_token={mask(secret)}".encode()
    scope = form_post_scope(secret)
    sent: list[Any] = []

    async def receive() -> Any:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    with pytest.raises(StopIteration):
        app(scope, receive, send).send(None)
    assert sent[0]["status"] == 200
