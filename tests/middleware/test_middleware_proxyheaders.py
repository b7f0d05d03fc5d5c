"""Trusted proxies: forwarded headers are believed from the configured proxies only."""

from __future__ import annotations

from typing import Any

import pytest
from mw_harness import TextApp, http_scope, run, websocket_scope

from _docs import DOCS, python_blocks
from plait import App, Request
from plait.middleware import ProxyHeadersMiddleware
from plait.ratelimit import RateLimiter
from plait.sessions import MemoryStore, Sessions

PROXIES = ["10.0.0.1", "192.168.0.0/16", "::1"]


def seen(headers: list[tuple[str, str]], peer: str = "10.0.0.1", **options: Any) -> Any:
    inner = TextApp()
    scope = http_scope(headers=headers)
    scope["client"] = (peer, 4321)
    app = ProxyHeadersMiddleware(inner, trusted_proxies=options.get("proxies", PROXIES))
    result = run(app, scope, inner)
    assert result.status == 200
    assert result.scope_seen is not None
    return result.scope_seen


def test_a_trusted_proxy_names_the_client_and_scheme() -> None:
    scope = seen([("X-Forwarded-For", "203.0.113.7"), ("X-Forwarded-Proto", "https")])
    assert scope["client"] == ("203.0.113.7", 0)
    assert scope["scheme"] == "https"


def test_an_untrusted_peer_cannot_choose_its_address_or_scheme() -> None:
    headers = [("X-Forwarded-For", "203.0.113.7"), ("X-Forwarded-Proto", "https")]
    scope = seen(headers, peer="198.51.100.9")
    assert scope["client"] == ("198.51.100.9", 4321)
    assert scope["scheme"] == "http"
    assert seen(headers, peer="198.51.100.9", proxies=[])["client"][0] == "198.51.100.9"


def test_the_client_is_the_right_most_untrusted_address() -> None:
    # The client sent a forged X-Forwarded-For; each trusted proxy appended what it saw.
    forged = [("X-Forwarded-For", "1.2.3.4, 203.0.113.7, 192.168.1.5")]
    assert seen(forged)["client"][0] == "203.0.113.7"
    # Every hop trusted: the left-most address is the client.
    assert seen([("X-Forwarded-For", "192.168.1.9, 192.168.1.5")])["client"][0] == "192.168.1.9"
    # Several headers are one list, in order.
    split = [("X-Forwarded-For", "1.2.3.4"), ("X-Forwarded-For", "203.0.113.8")]
    assert seen(split)["client"][0] == "203.0.113.8"
    # Garbage is ignored: the connection's address stays.
    assert seen([("X-Forwarded-For", "not-an-ip")])["client"] == ("10.0.0.1", 4321)


def test_the_scheme_entry_matches_the_client_hop() -> None:
    headers = [
        ("X-Forwarded-For", "203.0.113.7, 192.168.1.5"),
        ("X-Forwarded-Proto", "https, http"),
    ]
    assert seen(headers)["scheme"] == "https"
    assert seen([("X-Forwarded-Proto", "HTTPS")])["scheme"] == "https"
    assert seen([("X-Forwarded-Proto", "gopher")])["scheme"] == "http"


def test_ipv6_networks_and_trust_all() -> None:
    assert seen([("X-Forwarded-For", "2001:db8::1")], peer="::1")["client"][0] == "2001:db8::1"
    assert (
        seen([("X-Forwarded-For", "203.0.113.7")], peer="8.8.8.8", proxies=["*"])["client"][0]
        == "203.0.113.7"
    )


def test_websockets_get_ws_schemes() -> None:
    inner = TextApp()
    scope = websocket_scope(headers=[("X-Forwarded-Proto", "https")])
    scope["client"] = ("10.0.0.1", 1)
    result = run(ProxyHeadersMiddleware(inner, trusted_proxies=PROXIES), scope, inner)
    assert result.scope_seen is not None
    assert result.scope_seen["scheme"] == "wss"


def test_bad_configuration_fails_early() -> None:
    with pytest.raises(ValueError, match="not an IP address"):
        App(trusted_proxies=["proxy.internal"])
    with pytest.raises(TypeError, match="list"):
        ProxyHeadersMiddleware(TextApp(), trusted_proxies="10.0.0.1")


def test_the_app_trusts_its_proxies_in_every_layer() -> None:
    """App(trusted_proxies=...) runs first, even before middleware added later: the session
    cookie is Secure behind a TLS proxy, limits count the real client, redirects use https."""
    app = App(trusted_proxies=["10.0.0.1"])
    Sessions(app, store=MemoryStore())
    limiter = RateLimiter(app, storage="memory://")
    limiter.middleware("1/hour", key="ip")

    @app.get("/")
    async def index(request: Request) -> dict[str, Any]:
        request.session["seen"] = True
        return {"client": request.client.host if request.client else None, "url": str(request.url)}

    def get(peer: str, client: str) -> Any:
        scope = http_scope(
            headers=[
                ("Host", "example.com"),
                ("X-Forwarded-For", client),
                ("X-Forwarded-Proto", "https"),
            ]
        )
        scope["client"] = (peer, 5000)
        return run(app, scope)

    first = get("10.0.0.1", "203.0.113.7")
    assert first.status == 200
    assert b'"client":"203.0.113.7"' in first.body
    assert b'"url":"https://example.com/"' in first.body
    assert "Secure" in (first.header("set-cookie") or "")
    assert get("10.0.0.1", "203.0.113.8").status == 200  # another client: its own budget
    assert get("10.0.0.1", "203.0.113.7").status == 429
    # From an untrusted peer the headers mean nothing: that peer is the client.
    direct = get("198.51.100.1", "203.0.113.9")
    assert b'"client":"198.51.100.1"' in direct.body
    assert "Secure" not in (direct.header("set-cookie") or "")


def test_the_docs_example() -> None:
    block = python_blocks(DOCS / "middleware.md")[-1]
    namespace: dict[str, Any] = {}
    exec(compile(block.code, block.where, "exec"), namespace)
    assert namespace["app"].trusted_proxies == ["10.0.0.0/8", "127.0.0.1"]


def test_the_setting_configures_the_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PLAIT_TRUSTED_PROXIES", "10.0.0.0/8")
    app = App()

    @app.get("/")
    async def index(request: Request) -> str:
        return request.client.host if request.client else ""

    def client_seen(app: App, peer: str) -> bytes:
        scope = http_scope(headers=[("Host", "localhost"), ("X-Forwarded-For", "203.0.113.7")])
        scope["client"] = (peer, 5000)
        return run(app, scope).body

    assert client_seen(app, "10.1.2.3") == b"203.0.113.7"
    assert client_seen(app, "198.51.100.1") == b"198.51.100.1"
    explicit = App(trusted_proxies=[])  # an explicit list wins over the setting

    @explicit.get("/")
    async def plain(request: Request) -> str:
        return request.client.host if request.client else ""

    assert client_seen(explicit, "10.1.2.3") == b"10.1.2.3"
