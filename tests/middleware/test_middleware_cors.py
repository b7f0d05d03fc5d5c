from __future__ import annotations

import pytest
from mw_harness import TextApp, http_scope, run, websocket_scope

from plait.middleware import CORSMiddleware

ORIGIN = "https://example.com"


def preflight(
    origin: str = ORIGIN, method: str = "GET", request_headers: str | None = None
) -> list[tuple[str, str]]:
    headers = [("origin", origin), ("access-control-request-method", method)]
    if request_headers is not None:
        headers.append(("access-control-request-headers", request_headers))
    return headers


def test_preflight_allowed_explicit_origin() -> None:
    inner = TextApp()
    app = CORSMiddleware(
        inner, allow_origins=[ORIGIN], allow_methods=["GET", "post"], allow_headers=["X-Token"]
    )
    headers = preflight(method="POST", request_headers="X-Token, Content-Type")
    result = run(app, http_scope(method="OPTIONS", headers=headers), inner)
    assert not inner.called
    assert result.status == 200
    assert result.body == b"OK"
    assert result.header("access-control-allow-origin") == ORIGIN
    assert result.header("vary") == "Origin"
    assert result.header("access-control-allow-methods") == "GET, POST"
    allowed = result.header("access-control-allow-headers")
    assert allowed is not None
    assert set(allowed.split(", ")) == {
        "accept",
        "accept-language",
        "content-language",
        "content-type",
        "x-token",
    }
    assert result.header("access-control-max-age") == "600"
    assert result.header("access-control-allow-credentials") is None


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (preflight(origin="https://evil.com"), b"Disallowed CORS origin"),
        (preflight(method="DELETE"), b"Disallowed CORS method"),
        (preflight(request_headers="X-Token, X-Other"), b"Disallowed CORS headers"),
        (
            preflight(origin="https://evil.com", method="PUT", request_headers="X-Other"),
            b"Disallowed CORS origin, method, headers",
        ),
    ],
)
def test_preflight_denied(headers: list[tuple[str, str]], message: bytes) -> None:
    inner = TextApp()
    app = CORSMiddleware(inner, allow_origins=[ORIGIN], allow_headers=["x-token"])
    result = run(app, http_scope(method="OPTIONS", headers=headers), inner)
    assert not inner.called
    assert result.status == 400
    assert result.body == message
    assert result.header("content-type") == "text/plain; charset=utf-8"
    if b"origin" in message:
        assert result.header("access-control-allow-origin") is None


def test_preflight_wildcard_origin_methods_and_headers() -> None:
    app = CORSMiddleware(TextApp(), allow_origins=["*"], allow_methods=["*"], allow_headers=["*"])
    headers = preflight(origin="https://anything.test", method="PATCH", request_headers="X-A, X-B")
    result = run(app, http_scope(method="OPTIONS", headers=headers))
    assert result.status == 200
    assert result.header("access-control-allow-origin") == "*"
    assert result.header("vary") is None
    assert result.header("access-control-allow-headers") == "X-A, X-B"
    assert result.header("access-control-allow-methods") == (
        "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
    )


def test_options_without_request_method_reaches_the_app() -> None:
    inner = TextApp(b"app options")
    app = CORSMiddleware(inner, allow_origins=[ORIGIN])
    result = run(app, http_scope(method="OPTIONS", headers=[("origin", ORIGIN)]), inner)
    assert inner.called
    assert result.body == b"app options"
    assert result.header("access-control-allow-origin") == ORIGIN


def test_simple_request_wildcard() -> None:
    app = CORSMiddleware(TextApp(), allow_origins=["*"], expose_headers=["X-Total"])
    result = run(app, http_scope(headers=[("origin", "https://x.test")]))
    assert result.status == 200
    assert result.body == b"hello"
    assert result.header("access-control-allow-origin") == "*"
    assert result.header("access-control-expose-headers") == "X-Total"
    assert result.header("access-control-allow-credentials") is None
    assert result.header("vary") is None


def test_simple_request_credentials_echo_origin_and_merge_vary() -> None:
    inner = TextApp(headers=[(b"vary", b"Accept-Encoding")])
    app = CORSMiddleware(inner, allow_origins=[ORIGIN], allow_credentials=True)
    result = run(app, http_scope(headers=[("origin", ORIGIN), ("cookie", "a=b")]))
    assert result.header("access-control-allow-origin") == ORIGIN
    assert result.header("access-control-allow-credentials") == "true"
    assert result.header("vary") == "Accept-Encoding, Origin"


def test_simple_request_disallowed_origin_gets_no_cors_headers() -> None:
    app = CORSMiddleware(TextApp(), allow_origins=[ORIGIN], allow_credentials=True)
    result = run(app, http_scope(headers=[("origin", "https://evil.com")]))
    assert result.status == 200
    assert result.header("access-control-allow-origin") is None
    assert result.header("access-control-allow-credentials") is None
    assert result.header("vary") == "Origin"


def test_app_set_allow_origin_is_replaced() -> None:
    inner = TextApp(headers=[(b"Access-Control-Allow-Origin", b"https://other.test")])
    app = CORSMiddleware(inner, allow_origins=[ORIGIN])
    result = run(app, http_scope(headers=[("origin", ORIGIN)]))
    assert result.header("access-control-allow-origin") == ORIGIN


def test_request_without_origin_is_untouched() -> None:
    inner = TextApp()
    app = CORSMiddleware(inner, allow_origins=["*"])
    result = run(app, http_scope(), inner)
    assert inner.called
    assert result.header("access-control-allow-origin") is None
    assert result.header("vary") is None


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://api.example.org", True),
        ("https://example.org", True),
        ("https://api.example.org.evil.com", False),
        ("http://api.example.org", False),
    ],
)
def test_regex_origin(origin: str, allowed: bool) -> None:
    app = CORSMiddleware(TextApp(), allow_origin_regex=r"https://([a-z]+\.)?example\.org")
    simple = run(app, http_scope(headers=[("origin", origin)]))
    assert simple.header("access-control-allow-origin") == (origin if allowed else None)
    pre = run(app, http_scope(method="OPTIONS", headers=preflight(origin=origin)))
    assert pre.status == (200 if allowed else 400)


def test_credentials_with_wildcard_origin_is_refused() -> None:
    with pytest.raises(ValueError, match="allow_credentials"):
        CORSMiddleware(TextApp(), allow_origins=["*"], allow_credentials=True)


def test_bad_options_are_refused() -> None:
    with pytest.raises(TypeError):
        CORSMiddleware(TextApp(), allow_origins="https://example.com")
    with pytest.raises(TypeError):
        CORSMiddleware(TextApp(), allow_headers="X-Token")
    with pytest.raises(ValueError, match="expose_headers"):
        CORSMiddleware(TextApp(), allow_origins=[ORIGIN], expose_headers=["X-€"])
    with pytest.raises(ValueError, match="max_age"):
        CORSMiddleware(TextApp(), allow_origins=[ORIGIN], max_age=-1)


def test_websocket_passes_through() -> None:
    inner = TextApp()
    app = CORSMiddleware(inner, allow_origins=[ORIGIN])
    result = run(app, websocket_scope(headers=[("origin", "https://evil.com")]), inner)
    assert inner.called
    assert result.messages == [{"type": "websocket.accept"}]
