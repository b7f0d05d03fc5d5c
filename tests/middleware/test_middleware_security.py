from __future__ import annotations

from typing import Any

import pytest
from mw_harness import TextApp, http_scope, run, websocket_scope

from plait.middleware import SecurityHeadersMiddleware
from plait.types import Receive, Scope, Send


def test_default_headers_on_http() -> None:
    result = run(SecurityHeadersMiddleware(TextApp()), http_scope())
    assert result.body == b"hello"
    assert result.header("x-content-type-options") == "nosniff"
    assert result.header("x-frame-options") == "DENY"
    assert result.header("referrer-policy") == "same-origin"
    assert result.header("cross-origin-opener-policy") == "same-origin"
    assert result.header("strict-transport-security") is None  # plain HTTP: no HSTS
    assert result.header("content-security-policy") is None  # CSP is opt-in


def test_hsts_only_on_https() -> None:
    result = run(SecurityHeadersMiddleware(TextApp()), http_scope(scheme="https"))
    assert result.header("strict-transport-security") == "max-age=31536000; includeSubDomains"
    assert result.header("x-frame-options") == "DENY"


def test_hsts_options() -> None:
    app = SecurityHeadersMiddleware(TextApp(), hsts_max_age=63072000, hsts_preload=True)
    result = run(app, http_scope(scheme="https"))
    assert result.header("strict-transport-security") == (
        "max-age=63072000; includeSubDomains; preload"
    )
    app = SecurityHeadersMiddleware(TextApp(), hsts_include_subdomains=False, hsts_max_age=60)
    assert run(app, http_scope(scheme="https")).header("strict-transport-security") == "max-age=60"
    app = SecurityHeadersMiddleware(TextApp(), hsts=False)
    assert run(app, http_scope(scheme="https")).header("strict-transport-security") is None


def test_existing_headers_are_not_overwritten() -> None:
    inner = TextApp(
        headers=[
            (b"X-Frame-Options", b"SAMEORIGIN"),
            (b"referrer-policy", b"no-referrer"),
            (b"strict-transport-security", b"max-age=5"),
        ]
    )
    result = run(SecurityHeadersMiddleware(inner), http_scope(scheme="https"))
    assert result.header("x-frame-options") == "SAMEORIGIN"
    assert result.header("referrer-policy") == "no-referrer"
    assert result.header("strict-transport-security") == "max-age=5"
    assert result.header("x-content-type-options") == "nosniff"


def test_start_message_without_a_header_list() -> None:
    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 204})
        await send({"type": "http.response.body", "body": b""})

    result = run(SecurityHeadersMiddleware(inner), http_scope())
    assert result.status == 204
    assert result.header("x-frame-options") == "DENY"


def test_csp_is_opt_in() -> None:
    policy = "default-src 'self'; img-src https:"
    app = SecurityHeadersMiddleware(TextApp(), content_security_policy=policy)
    assert run(app, http_scope()).header("content-security-policy") == policy


def test_headers_can_be_switched_off() -> None:
    app = SecurityHeadersMiddleware(
        TextApp(),
        hsts=False,
        content_type_nosniff=False,
        frame_options=None,
        referrer_policy=None,
        cross_origin_opener_policy=None,
    )
    result = run(app, http_scope(scheme="https"))
    assert [name for name, _ in result.raw_headers] == [b"content-type", b"content-length"]


def test_values_are_normalised() -> None:
    app = SecurityHeadersMiddleware(
        TextApp(), frame_options="sameorigin", referrer_policy="no-referrer, Strict-Origin"
    )
    result = run(app, http_scope())
    assert result.header("x-frame-options") == "SAMEORIGIN"
    assert result.header("referrer-policy") == "no-referrer, strict-origin"


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"frame_options": "ALLOW-FROM https://x.test"}, "frame_options"),
        ({"referrer_policy": "never"}, "referrer_policy"),
        ({"referrer_policy": "origin, bogus"}, "referrer_policy"),
        ({"cross_origin_opener_policy": "yes"}, "cross_origin_opener_policy"),
        ({"hsts_max_age": -1}, "hsts_max_age"),
        ({"hsts_max_age": 1.5}, "hsts_max_age"),
        ({"hsts_preload": True, "hsts_include_subdomains": False}, "hsts_preload"),
        ({"hsts_preload": True, "hsts_max_age": 3600}, "hsts_preload"),
        ({"content_security_policy": "default-src 'self'\r\nX-Evil: 1"}, "content_security_policy"),
        ({"content_security_policy": ""}, "content_security_policy"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SecurityHeadersMiddleware(TextApp(), **options)


def test_websocket_passes_through() -> None:
    inner = TextApp()
    result = run(SecurityHeadersMiddleware(inner), websocket_scope(), inner)
    assert inner.called
    assert result.messages == [{"type": "websocket.accept"}]
