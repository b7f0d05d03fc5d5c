"""Security review of plait.csrf: the body scanner's cost, exempt prefixes, token shapes."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from plait import App, WebSocket
from plait.csrf import CSRF
from plait.csrf._tokens import mask, matches, new_secret
from plait.testing import TestClient, WebSocketDenied

FORM = b"application/x-www-form-urlencoded"


@pytest.mark.parametrize("filler", [b"a", b"%41", b"csrf_token"])
def test_a_long_field_costs_bounded_cpu_and_the_token_after_it_is_found(filler: bytes) -> None:
    # One endless field name sent slowly in 4 KiB pieces (it once cost quadratic time), then
    # the token: the form parser reads it within a bounded CPU time and finds the token.
    app = App()
    CSRF(app)

    @app.post("/")
    async def post() -> str:
        return "ok"

    secret = new_secret()
    chunk = filler * (4096 // len(filler))

    def body() -> Iterator[bytes]:
        for _ in range(512):  # 2 MiB
            yield chunk
        yield b"=1&csrf_token=" + mask(secret).encode()

    with TestClient(app) as client:
        client.cookies.set("csrftoken", secret)
        start = time.process_time()
        response = client.post("/", content=body(), headers={"content-type": FORM.decode()})
        seconds = time.process_time() - start
    assert response.text == "ok"
    assert seconds < 1.0  # 2 MiB of "%41" decodes in ~0.25 s of CPU (as in Django)


def test_exempt_prefixes_are_whole_path_segments() -> None:
    app = App()
    CSRF(app, exempt=["/api"])

    @app.post("/api")
    async def api_root() -> str:
        return "api"

    @app.post("/api/items")
    async def api_items() -> str:
        return "items"

    @app.post("/apiary")
    async def apiary() -> str:
        return "bees"

    with TestClient(app) as client:
        assert client.post("/api").status_code == 200
        assert client.post("/api/items").status_code == 200
        assert client.post("/apiary").status_code == 403


@pytest.mark.parametrize(
    "submitted",
    ["", "a", "é" * 64, "é" * 32, "\x00" * 64, " " * 64, "-" * 64, "a" * 63, "a" * 65],
)
def test_malformed_tokens_never_match(submitted: str) -> None:
    assert not matches(submitted, new_secret())


def wildcard_app(origin: str) -> App:
    app = App()
    CSRF(app, trusted_origins=[origin])

    @app.post("/")
    async def index() -> str:
        return "ok"

    return app


@pytest.mark.parametrize(
    "origin", ["https://*example.com", "https://a.*.example.com", "https://ex*.com", "https://*"]
)
def test_a_wildcard_is_only_a_leading_subdomain(origin: str) -> None:
    # "https://*example.com" trusted https://evilexample.com (the "*" matched "evil").
    with pytest.raises(ValueError, match="trusted origins"):
        CSRF(App(), trusted_origins=[origin])


@pytest.mark.parametrize(
    ("origin", "trusted"),
    [
        ("https://a.example.com", True),
        ("https://a.b.example.com", True),
        ("https://A.EXAMPLE.COM:443", True),
        ("https://example.com", False),
        ("https://evilexample.com", False),
        ("https://a.example.com.evil.net", False),
        ("https://a.example.com:8443", False),
        ("http://a.example.com", False),
        ("null", False),
    ],
)
def test_wildcard_trusted_origins(origin: str, trusted: bool) -> None:
    secret = new_secret()
    with TestClient(wildcard_app("https://*.example.com")) as client:
        client.cookies.set("csrftoken", secret)
        response = client.post("/", headers={"Origin": origin, "X-CSRF-Token": mask(secret)})
    assert (response.status_code == 200) is trusted


def websocket_app() -> App:
    app = App()
    CSRF(app, trusted_origins=["https://admin.example.com"])

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("hello")
        await websocket.close()

    return app


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://testserver.evil"])
def test_cross_site_websockets_are_refused(origin: str) -> None:
    # Cross-site WebSocket hijacking: a browser opens a WebSocket from any page, with the
    # site's cookies (the session, so the user) and its own Origin; nothing else stops it.
    with (
        TestClient(websocket_app()) as client,
        pytest.raises(WebSocketDenied) as denied,
        client.websocket_connect("/ws", headers={"Origin": origin}),
    ):
        pass
    assert denied.value.code == 1008


@pytest.mark.parametrize(
    "headers", [{}, {"Origin": "http://testserver"}, {"Origin": "https://admin.example.com"}]
)
def test_same_site_and_non_browser_websockets_pass(headers: dict[str, str]) -> None:
    with (
        TestClient(websocket_app()) as client,
        client.websocket_connect("/ws", headers=headers) as connection,
    ):
        assert connection.receive_text() == "hello"
