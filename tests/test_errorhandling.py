"""Errors: HTTPException, problem JSON, handlers by type and status, safe 500s, debug page."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from plait import (
    App,
    HTTPException,
    JSONResponse,
    PlainTextResponse,
    Request,
    Response,
    WebSocket,
    WebSocketDisconnect,
)
from plait._errorhandling import ErrorHandling, problem_response
from plait._exceptions import WebSocketException, phrase
from plait.testing import TestClient, WebSocketDenied
from plait.types import Receive, Scope, Send


class OutOfStock(Exception):
    def __init__(self, item: str) -> None:
        self.item = item
        super().__init__(f"{item} is out of stock")


class Backorder(OutOfStock):
    pass


def _raising(exc: BaseException, **app_options: Any) -> App:
    app = App(**app_options)

    @app.get("/boom")
    def boom() -> None:
        raise exc

    @app.get("/ok")
    def ok() -> str:
        return "ok"

    return app


# ------------------------------------------------------------------ HTTPException


def test_http_exception_fields_and_problem_document() -> None:
    exc = HTTPException(
        409,
        "Version clash",
        headers={"Retry-After": "5"},
        type="https://example.com/problems/clash",
        extra={"current": 3},
    )
    assert exc.status_code == 409
    assert exc.title == "Conflict"
    assert exc.headers == {"Retry-After": "5"}
    assert exc.to_problem("/items/1") == {
        "type": "https://example.com/problems/clash",
        "title": "Conflict",
        "status": 409,
        "detail": "Version clash",
        "instance": "/items/1",
        "current": 3,
    }
    assert str(exc) == "409: Version clash"
    assert repr(exc) == "HTTPException(status_code=409, detail='Version clash')"


def test_http_exception_defaults() -> None:
    exc = HTTPException(404)
    assert exc.detail is None
    assert exc.headers is None
    assert exc.extra is None
    assert exc.to_problem() == {"type": "about:blank", "title": "Not Found", "status": 404}
    assert str(exc) == "404: Not Found"
    assert HTTPException(499).title == ""
    assert HTTPException(400, title="Custom").title == "Custom"


@pytest.mark.parametrize("status", [200, 302, 399, 600])
def test_http_exception_needs_an_error_status(status: int) -> None:
    with pytest.raises(ValueError, match="4xx or 5xx"):
        HTTPException(status)


def test_phrase() -> None:
    assert phrase(404) == "Not Found"
    assert phrase(599) == ""


def test_websocket_exception_defaults() -> None:
    exc = WebSocketException()
    assert (exc.code, exc.reason) == (1008, "")


def test_raised_http_exception_is_a_problem_response_with_headers() -> None:
    app = _raising(
        HTTPException(
            429, {"limit": 10}, headers={"Retry-After": "30"}, extra={"errors": ["too fast"]}
        )
    )
    with TestClient(app) as client:
        response = client.get("/boom")
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "30"
    assert response.json() == {
        "type": "about:blank",
        "title": "Too Many Requests",
        "status": 429,
        "detail": {"limit": 10},
        "errors": ["too fast"],
    }


def test_problem_response_helper() -> None:
    response = problem_response(HTTPException(403, "no"), instance="/x")
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.body == (
        b'{"type":"about:blank","title":"Forbidden","status":403,"detail":"no","instance":"/x"}'
    )


# ------------------------------------------------------------------ unhandled errors


def test_unhandled_error_is_a_500_that_leaks_nothing(caplog: pytest.LogCaptureFixture) -> None:
    app = _raising(RuntimeError("db password is hunter2"))
    with TestClient(app) as client:
        response = client.get("/boom", headers={"accept": "text/html"})
        assert client.get("/ok").text == "ok"
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
    }
    assert b"hunter2" not in response.content
    assert b"RuntimeError" not in response.content
    # ...but the server log has everything.
    (record,) = [r for r in caplog.records if r.name == "plait.error"]
    assert record.levelno == logging.ERROR
    assert record.getMessage() == "Unhandled exception in GET /boom"
    assert record.exc_info is not None
    assert "hunter2" in str(record.exc_info[1])


def test_debug_page_is_html_for_browsers() -> None:
    app = _raising(ValueError("<script>bad</script> detail"), debug=True)
    with TestClient(app) as client:
        response = client.get("/boom", headers={"accept": "text/html,application/xhtml+xml"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    assert "<h1>ValueError: &lt;script&gt;bad&lt;/script&gt; detail</h1>" in page
    assert "<script>bad" not in page
    assert "GET /boom" in page
    assert "Traceback (most recent call last)" in page
    assert "test_errorhandling.py" in page
    assert "debug=True" in page


def test_debug_page_is_plain_text_for_api_clients() -> None:
    app = _raising(ValueError("visible in debug"), debug=True)
    with TestClient(app) as client:
        response = client.get("/boom", headers={"accept": "application/json"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text.startswith("Traceback (most recent call last)")
    assert "ValueError: visible in debug" in response.text


def test_debug_does_not_change_http_exceptions() -> None:
    app = _raising(HTTPException(404, "nope"), debug=True)
    with TestClient(app) as client:
        response = client.get("/boom", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert response.json()["detail"] == "nope"


# ------------------------------------------------------------------ exception handlers


def test_handler_by_exception_type_sync_and_async() -> None:
    app = _raising(OutOfStock("pens"))

    @app.exception_handler(OutOfStock)
    def out_of_stock(request: Request, exc: OutOfStock) -> Response:
        return JSONResponse({"missing": exc.item, "path": request.path}, status_code=409)

    with TestClient(app) as client:
        response = client.get("/boom")
    assert response.status_code == 409
    assert response.json() == {"missing": "pens", "path": "/boom"}

    app = _raising(OutOfStock("cups"))

    async def async_handler(request: Request, exc: OutOfStock) -> Response:
        return PlainTextResponse(f"async {exc.item}", status_code=410)

    app.add_exception_handler(OutOfStock, async_handler)
    with TestClient(app) as client:
        response = client.get("/boom")
    assert response.status_code == 410
    assert response.text == "async cups"


def test_handler_for_a_base_class_catches_subclasses_most_specific_wins() -> None:
    app = _raising(Backorder("mugs"))
    app.add_exception_handler(OutOfStock, lambda request, exc: PlainTextResponse("base"))
    with TestClient(app) as client:
        assert client.get("/boom").text == "base"

    app = _raising(Backorder("mugs"))
    app.add_exception_handler(OutOfStock, lambda request, exc: PlainTextResponse("base"))
    app.add_exception_handler(Backorder, lambda request, exc: PlainTextResponse("specific"))
    with TestClient(app) as client:
        assert client.get("/boom").text == "specific"


def test_handler_by_status_catches_http_exceptions_and_router_errors() -> None:
    app = _raising(HTTPException(404, "no such item"))

    @app.exception_handler(404)
    async def not_found(request: Request, exc: HTTPException) -> Response:
        return PlainTextResponse(f"custom 404: {exc.detail}", status_code=404)

    @app.exception_handler(405)
    def not_allowed(request: Request, exc: HTTPException) -> Response:
        assert exc.headers is not None
        return PlainTextResponse("custom 405", status_code=405, headers=exc.headers)

    with TestClient(app) as client:
        assert client.get("/boom").text == "custom 404: no such item"
        assert client.get("/missing").text == "custom 404: None"
        response = client.post("/ok")
        assert response.text == "custom 405"
        assert response.headers["allow"] == "GET, HEAD"


def test_status_handler_beats_type_handler_for_http_exceptions() -> None:
    app = _raising(HTTPException(404))
    app.add_exception_handler(HTTPException, lambda request, exc: PlainTextResponse("by type"))
    app.add_exception_handler(404, lambda request, exc: PlainTextResponse("by status"))
    with TestClient(app) as client:
        assert client.get("/boom").text == "by status"
        # Other HTTP errors still reach the type handler.
        assert client.post("/ok").text == "by type"


def test_500_handler_catches_unhandled_exceptions() -> None:
    app = _raising(KeyError("secret"))

    @app.exception_handler(500)
    def server_error(request: Request, exc: Exception) -> dict[str, str]:
        return {"error": type(exc).__name__}

    with TestClient(app) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"error": "KeyError"}


def test_handler_returning_a_plain_value_is_rendered_with_the_error_status() -> None:
    app = _raising(HTTPException(403))
    app.add_exception_handler(403, lambda request, exc: {"denied": True})
    with TestClient(app) as client:
        response = client.get("/boom")
        assert response.status_code == 403
        assert response.json() == {"denied": True}

    app = _raising(OutOfStock("x"))
    app.add_exception_handler(OutOfStock, lambda request, exc: "out")
    with TestClient(app) as client:
        response = client.get("/boom")
        assert response.status_code == 500
        assert response.text == "out"


def test_handlers_given_to_the_constructor() -> None:
    app = _raising(
        OutOfStock("x"),
        exception_handlers={OutOfStock: lambda request, exc: PlainTextResponse("ctor")},
    )
    with TestClient(app) as client:
        assert client.get("/boom").text == "ctor"


def test_handler_that_raises_falls_back_to_a_safe_500(caplog: pytest.LogCaptureFixture) -> None:
    app = _raising(OutOfStock("x"))

    def broken(request: Request, exc: Exception) -> Response:
        raise RuntimeError("handler bug with secret")

    app.add_exception_handler(OutOfStock, broken)
    with TestClient(app) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert b"secret" not in response.content
    assert "handler bug with secret" in caplog.text


def test_handler_returning_something_unrenderable_is_a_safe_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = _raising(OutOfStock("x"))
    app.add_exception_handler(OutOfStock, lambda request, exc: object())
    with TestClient(app) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert response.json()["title"] == "Internal Server Error"
    assert "cannot be JSON-encoded" in caplog.text


def test_handler_that_reraises_its_exception() -> None:
    app = _raising(HTTPException(418, "teapot"))

    def reraise(request: Request, exc: Exception) -> Response:
        raise exc

    app.add_exception_handler(418, reraise)
    with TestClient(app) as client:
        response = client.get("/boom")
    assert response.status_code == 418
    assert response.json()["detail"] == "teapot"


def test_handler_that_raises_an_http_exception() -> None:
    app = _raising(OutOfStock("x"))

    async def translate(request: Request, exc: OutOfStock) -> Response:
        raise HTTPException(409, f"{exc.item} unavailable")

    app.add_exception_handler(OutOfStock, translate)
    with TestClient(app) as client:
        response = client.get("/boom")
    assert response.status_code == 409
    assert response.json()["detail"] == "x unavailable"


def test_an_http_error_a_handler_raises_goes_to_its_own_handler() -> None:
    """The database's handlers turn an IntegrityError into a 409: an app's handler for HTTP
    errors then shapes that 409 like every other error."""
    app = _raising(OutOfStock("x"))

    async def translate(request: Request, exc: OutOfStock) -> Response:
        raise HTTPException(409, f"{exc.item} unavailable", headers={"Retry-After": "3"})

    app.add_exception_handler(OutOfStock, translate)
    app.add_exception_handler(HTTPException, lambda request, exc: {"errors": [exc.detail]})
    with TestClient(app) as client:
        response = client.get("/boom")
    assert response.status_code == 409
    assert response.json() == {"errors": ["x unavailable"]}
    assert response.headers["retry-after"] == "3"


def test_a_translated_error_whose_handler_fails_is_a_safe_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = _raising(OutOfStock("x"))

    def translate(request: Request, exc: OutOfStock) -> Response:
        raise HTTPException(409)

    def broken(request: Request, exc: HTTPException) -> Response:
        raise RuntimeError("shaping failed")

    app.add_exception_handler(OutOfStock, translate)
    app.add_exception_handler(409, broken)
    with TestClient(app) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert "shaping failed" in caplog.text


def test_a_plain_value_from_a_handler_keeps_the_errors_headers() -> None:
    app = App()

    @app.get("/only-get")
    def only_get() -> str:
        return "ok"

    @app.get("/private")
    def private() -> str:
        raise HTTPException(401, "log in", headers={"WWW-Authenticate": "Token"})

    app.add_exception_handler(HTTPException, lambda request, exc: {"errors": [exc.title]})
    with TestClient(app) as client:
        refused = client.get("/private")
        assert (refused.status_code, refused.json()) == (401, {"errors": ["Unauthorized"]})
        assert refused.headers["www-authenticate"] == "Token"
        wrong = client.post("/only-get")
        assert (wrong.status_code, wrong.headers["allow"]) == (405, "GET, HEAD")
        assert wrong.json() == {"errors": ["Method Not Allowed"]}


def test_handler_keys_are_checked() -> None:
    errors = ErrorHandling()
    with pytest.raises(ValueError, match="4xx/5xx"):
        errors.add(302, lambda request, exc: None)
    with pytest.raises(TypeError, match="exception type or a status"):
        errors.add("oops", lambda request, exc: None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="exception type or a status"):
        errors.add(dict, lambda request, exc: None)  # type: ignore[arg-type]


def test_exception_handler_decorator_returns_the_function() -> None:
    app = App()

    def handler(request: Request, exc: Exception) -> None:
        return None

    assert app.exception_handler(KeyError)(handler) is handler


# ------------------------------------------------------------------ middleware errors


class _Exploding:
    def __init__(self, app: Any, exc: Exception, after_start: bool = False) -> None:
        self.app = app
        self.exc = exc
        self.after_start = after_start

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not self.after_start:
            raise self.exc

        async def send_then_fail(message: Any) -> None:
            await send(message)
            if message["type"] == "http.response.start":
                raise self.exc

        await self.app(scope, receive, send_then_fail)


def test_error_in_a_middleware_is_a_safe_500(caplog: pytest.LogCaptureFixture) -> None:
    app = _raising(RuntimeError("x"))
    app.add_middleware(_Exploding, exc=RuntimeError("middleware secret"))
    with TestClient(app) as client:
        response = client.get("/ok")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert b"middleware secret" not in response.content
    assert "middleware secret" in caplog.text


def test_http_exception_in_a_middleware_is_its_problem_response() -> None:
    app = _raising(RuntimeError("x"))
    app.add_middleware(_Exploding, exc=HTTPException(401, "who are you"))
    with TestClient(app) as client:
        response = client.get("/ok")
    assert response.status_code == 401
    assert response.json()["detail"] == "who are you"


def test_error_in_a_middleware_shows_the_debug_page_in_debug() -> None:
    app = _raising(RuntimeError("x"), debug=True)
    app.add_middleware(_Exploding, exc=RuntimeError("visible"))
    with TestClient(app) as client:
        response = client.get("/ok", headers={"accept": "text/html"})
    assert response.status_code == 500
    assert "RuntimeError: visible" in response.text


def test_error_after_the_response_started_is_reraised() -> None:
    app = _raising(RuntimeError("x"))
    app.add_middleware(_Exploding, exc=RuntimeError("too late"), after_start=True)
    client = TestClient(app)
    try:
        with pytest.raises(RuntimeError, match="too late"):
            client.get("/ok")
    finally:
        client.close()


# ------------------------------------------------------------------ WebSocket errors


def _ws_app() -> App:
    app = App()

    @app.websocket("/policy")
    async def policy(websocket: WebSocket) -> None:
        await websocket.accept()
        raise WebSocketException(4001, "policy says no")

    @app.websocket("/http-error")
    async def http_error(websocket: WebSocket) -> None:
        raise HTTPException(403, "no ticket")

    @app.websocket("/crash")
    async def crash(websocket: WebSocket) -> None:
        await websocket.accept()
        raise RuntimeError("socket secret")

    @app.websocket("/gone")
    async def gone(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.receive_text()

    return app


def test_websocket_exception_closes_with_its_code() -> None:
    with TestClient(_ws_app()) as client, client.websocket_connect("/policy") as ws:
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive()
        assert (info.value.code, info.value.reason) == (4001, "policy says no")


def test_http_exception_before_accept_refuses_the_handshake() -> None:
    with TestClient(_ws_app()) as client:
        with pytest.raises(WebSocketDenied) as info, client.websocket_connect("/http-error"):
            pass
        assert (info.value.code, info.value.reason) == (1008, "no ticket")


def test_unhandled_websocket_error_closes_1011_without_leaking(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with TestClient(_ws_app()) as client, client.websocket_connect("/crash") as ws:
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive()
        assert (info.value.code, info.value.reason) == (1011, "Internal error")
    assert "Unhandled exception in WebSocket /crash" in caplog.text
    assert "socket secret" in caplog.text


def test_client_disconnect_ends_the_handler_quietly(caplog: pytest.LogCaptureFixture) -> None:
    with TestClient(_ws_app()) as client, client.websocket_connect("/gone") as ws:
        ws.close(1001)
    assert "Unhandled exception" not in caplog.text
