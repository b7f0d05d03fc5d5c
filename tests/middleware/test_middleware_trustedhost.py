from __future__ import annotations

import pytest
from mw_harness import TextApp, http_scope, run, websocket_scope

from plait.middleware import TrustedHostMiddleware

ALLOWED = ["example.com", "*.example.org", "[::1]"]


@pytest.mark.parametrize(
    "host",
    [
        "example.com",
        "EXAMPLE.com",
        "example.com:8000",
        "example.com.",
        "api.example.org",
        "a.b.example.org:443",
        "[::1]:8000",
    ],
)
def test_allowed_hosts_reach_the_app(host: str) -> None:
    inner = TextApp()
    app = TrustedHostMiddleware(inner, allowed_hosts=ALLOWED)
    result = run(app, http_scope(headers=[("host", host)]), inner)
    assert inner.called
    assert result.status == 200
    assert result.body == b"hello"


@pytest.mark.parametrize(
    "host",
    [
        "evil.com",
        "example.org",  # the wildcard matches subdomains only
        "evilexample.org",
        "example.com.evil.com",
        "example.com:80@evil.com",
        "example.com:http",
        "evil/.example.org",
        "",
        "[::2]",
    ],
)
def test_bad_host_is_rejected(host: str) -> None:
    inner = TextApp()
    app = TrustedHostMiddleware(inner, allowed_hosts=ALLOWED)
    result = run(app, http_scope(headers=[("host", host)]), inner)
    assert not inner.called
    assert result.status == 400
    assert result.body == b"Invalid host header"
    assert result.header("content-type") == "text/plain; charset=utf-8"


def test_missing_host_is_rejected() -> None:
    inner = TextApp()
    result = run(TrustedHostMiddleware(inner, allowed_hosts=ALLOWED), http_scope(), inner)
    assert not inner.called
    assert result.status == 400


def test_default_allows_any_host() -> None:
    inner = TextApp()
    result = run(TrustedHostMiddleware(inner), http_scope(headers=[("host", "whatever")]), inner)
    assert inner.called
    assert result.status == 200


def test_www_redirect_keeps_port_path_and_query() -> None:
    app = TrustedHostMiddleware(TextApp(), allowed_hosts=["www.example.com"])
    scope = http_scope(
        path="/a b", headers=[("host", "example.com:8443")], scheme="https", query_string=b"q=1"
    )
    scope["raw_path"] = b"/a%20b"
    result = run(app, scope)
    assert result.status == 307
    assert result.header("location") == "https://www.example.com:8443/a%20b?q=1"


def test_www_redirect_without_query() -> None:
    app = TrustedHostMiddleware(TextApp(), allowed_hosts=["www.example.com"])
    result = run(app, http_scope(path="/x", headers=[("host", "example.com")]))
    assert result.status == 307
    assert result.header("location") == "http://www.example.com/x"


def test_www_redirect_can_be_disabled() -> None:
    app = TrustedHostMiddleware(TextApp(), allowed_hosts=["www.example.com"], www_redirect=False)
    result = run(app, http_scope(headers=[("host", "example.com")]))
    assert result.status == 400


def test_websocket_with_bad_host_is_closed_before_accept() -> None:
    inner = TextApp()
    app = TrustedHostMiddleware(inner, allowed_hosts=ALLOWED)
    result = run(app, websocket_scope(headers=[("host", "evil.com")]), inner)
    assert not inner.called
    assert result.messages == [{"type": "websocket.close", "code": 1008, "reason": ""}]


def test_websocket_with_good_host_reaches_the_app() -> None:
    inner = TextApp()
    app = TrustedHostMiddleware(inner, allowed_hosts=ALLOWED)
    result = run(app, websocket_scope(headers=[("host", "example.com")]), inner)
    assert inner.called
    assert result.messages == [{"type": "websocket.accept"}]


def test_lifespan_passes_through() -> None:
    inner = TextApp()
    run(TrustedHostMiddleware(inner, allowed_hosts=ALLOWED), {"type": "lifespan"}, inner)
    assert inner.called


@pytest.mark.parametrize(
    "pattern", ["exa*mple.com", "*example.com", "*.", "example.com:80", "bü.de"]
)
def test_bad_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(ValueError, match="pattern"):
        TrustedHostMiddleware(TextApp(), allowed_hosts=[pattern])


def test_single_string_is_refused() -> None:
    with pytest.raises(TypeError):
        TrustedHostMiddleware(TextApp(), allowed_hosts="example.com")


@pytest.mark.parametrize("host", ["example.net", "a.example.net"])
def test_a_leading_dot_allows_the_domain_and_its_subdomains(host: str) -> None:
    inner = TextApp()
    app = TrustedHostMiddleware(inner, allowed_hosts=[".example.net"])
    result = run(app, http_scope(headers=[("host", host)]), inner)
    assert result.status == 200
    assert run(app, http_scope(headers=[("host", "evil.net")]), TextApp()).status == 400
