from __future__ import annotations

import re
from itertools import count

import pytest
from mw_harness import TextApp, http_scope, run, websocket_scope

from plait.middleware import RequestIDMiddleware


def test_generates_uuid4_hex_and_stores_it_in_state() -> None:
    inner = TextApp()
    result = run(RequestIDMiddleware(inner), http_scope(), inner)
    request_id = result.header("x-request-id")
    assert request_id is not None
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert inner.scope is not None
    assert inner.scope["state"]["request_id"] == request_id


def test_each_request_gets_a_new_id() -> None:
    app = RequestIDMiddleware(TextApp())
    assert run(app, http_scope()).header("x-request-id") != run(app, http_scope()).header(
        "x-request-id"
    )


def test_existing_state_is_kept() -> None:
    inner = TextApp()
    scope = http_scope()
    scope["state"] = {"db": "conn"}
    run(RequestIDMiddleware(inner), scope, inner)
    assert inner.scope is not None
    assert inner.scope["state"]["db"] == "conn"
    assert "request_id" in inner.scope["state"]


@pytest.mark.parametrize("incoming", ["abc-123", "trace:1/2+3=4_5.6~7", "a" * 200])
def test_trusted_incoming_id_is_echoed(incoming: str) -> None:
    inner = TextApp()
    scope = http_scope(headers=[("x-request-id", incoming)])
    result = run(RequestIDMiddleware(inner), scope, inner)
    assert result.header("x-request-id") == incoming
    assert inner.scope is not None
    assert inner.scope["state"]["request_id"] == incoming


@pytest.mark.parametrize("incoming", ["", "a" * 201, "has space", 'quote"d', "<script>", "é"])
def test_invalid_incoming_id_is_replaced(incoming: str) -> None:
    scope = http_scope(headers=[("x-request-id", incoming)])
    result = run(RequestIDMiddleware(TextApp()), scope)
    request_id = result.header("x-request-id")
    assert request_id is not None
    assert request_id != incoming
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)


def test_untrusted_incoming_id_is_ignored() -> None:
    inner = TextApp()
    app = RequestIDMiddleware(inner, trust_incoming=False)
    result = run(app, http_scope(headers=[("x-request-id", "client-chosen")]), inner)
    assert result.header("x-request-id") not in (None, "client-chosen")
    assert inner.scope is not None
    assert inner.scope["state"]["request_id"] == result.header("x-request-id")


def test_custom_header_name_and_generator() -> None:
    numbers = count(1)
    app = RequestIDMiddleware(
        TextApp(), header_name="X-Correlation-ID", generator=lambda: f"req-{next(numbers)}"
    )
    first = run(app, http_scope(headers=[("x-request-id", "ignored")]))
    assert first.header("x-correlation-id") == "req-1"
    assert first.header("x-request-id") is None
    second = run(app, http_scope(headers=[("x-correlation-id", "upstream-7")]))
    assert second.header("x-correlation-id") == "upstream-7"
    assert run(app, http_scope()).header("x-correlation-id") == "req-2"


def test_app_set_header_is_kept() -> None:
    inner = TextApp(headers=[(b"X-Request-ID", b"from-app")])
    result = run(RequestIDMiddleware(inner), http_scope())
    assert result.header("x-request-id") == "from-app"


@pytest.mark.parametrize("name", ["", "X Request", "X-Id\r\n", "X-Ïd"])
def test_bad_header_name_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="header_name"):
        RequestIDMiddleware(TextApp(), header_name=name)


def test_websocket_passes_through() -> None:
    inner = TextApp()
    result = run(RequestIDMiddleware(inner), websocket_scope(), inner)
    assert inner.called
    assert result.messages == [{"type": "websocket.accept"}]
