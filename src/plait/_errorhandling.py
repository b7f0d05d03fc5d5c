"""Exception handling: user handlers by type or status, problem JSON, and safe 500s."""

from __future__ import annotations

import inspect
import logging
import typing
from collections.abc import Awaitable, Callable
from typing import Any

from plait._concurrency import run_in_threadpool
from plait._debug import debug_response
from plait._exceptions import HTTPException, WebSocketException
from plait._negotiation import prefers_html
from plait._request import ClientDisconnect, Request
from plait._responses import Response, problem_response
from plait._results import make_renderer
from plait._websockets import WebSocketDisconnect
from plait.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ErrorHandling", "ErrorPage", "ExceptionHandler", "problem_response"]

logger = logging.getLogger("plait.error")

ExceptionHandler = Callable[[Any, Any], Any]
ErrorPage = Callable[[Request, HTTPException], Awaitable["Response | None"]]
"""Draws the HTML page of an error for a browser, or returns None (plait.templates' pages)."""

_INTERNAL = HTTPException(500)


class ErrorHandling:
    """Finds the handler for an exception and turns the outcome into a response."""

    def __init__(self, *, debug: bool = False) -> None:
        self.debug = debug
        self.by_type: dict[type[BaseException], ExceptionHandler] = {}
        self.by_status: dict[int, ExceptionHandler] = {}
        self.pages: list[ErrorPage] = []

    def add(self, key: type[BaseException] | int, handler: ExceptionHandler) -> None:
        if isinstance(key, int):
            if not 400 <= key <= 599:
                raise ValueError(f"Exception handlers take 4xx/5xx statuses, not {key}")
            self.by_status[key] = handler
        elif isinstance(key, type) and issubclass(key, BaseException):
            self.by_type[key] = handler
        else:
            raise TypeError(f"Exception handler key must be an exception type or a status: {key!r}")

    def _find(self, exc: BaseException) -> ExceptionHandler | None:
        if isinstance(exc, HTTPException) and exc.status_code in self.by_status:
            return self.by_status[exc.status_code]
        for cls in type(exc).__mro__:
            handler = self.by_type.get(cls)
            if handler is not None:
                return handler
        if not isinstance(exc, HTTPException):
            return self.by_status.get(500)
        return None

    async def respond(self, request: Request, exc: Exception) -> Response:
        """The response for ``exc`` raised while handling ``request``."""
        handler = self._find(exc)
        if handler is None:
            return await self.default(request, exc)
        try:
            return await self._call(handler, request, exc)
        except HTTPException as translated:
            # A handler that translates its exception into an HTTP error (the database's
            # IntegrityError into a 409) hands it to the handler of that error, if another.
            other = self._find(translated) if translated is not exc else None
            if other is not None and other is not handler:
                try:
                    return await self._call(other, request, translated)
                except Exception as handler_exc:
                    return await self.default(request, handler_exc)
            return await self.default(request, translated)
        except Exception as handler_exc:
            # A handler that fails (or returns something unrenderable) gets the safe
            # default; one that re-raises ``exc`` asks for the default answer on purpose.
            return await self.default(request, handler_exc)

    async def _call(self, handler: ExceptionHandler, request: Request, exc: Exception) -> Response:
        if inspect.iscoroutinefunction(handler):
            result = await handler(request, exc)
        else:
            result = await run_in_threadpool(handler, request, exc)
        if isinstance(result, Response):
            return result
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        response: Response = make_renderer(status, None)(result)
        if isinstance(exc, HTTPException) and exc.headers:
            # A body of the handler's own, the error's headers (Allow, WWW-Authenticate,
            # Retry-After) all the same.
            for name, value in exc.headers.items():
                response.headers[name] = value
        return response

    def documented_error(self, status: int) -> Any:
        """The type a handler of yours answers an HTTP error ``status`` with, from its return
        annotation (``-> ErrorBody``), or ``None`` (the RFC 9457 problem): the OpenAPI
        document describes the errors the way they are sent."""
        handler = self.by_status.get(status) or self.by_type.get(HTTPException)
        if handler is None:
            return None
        try:
            hints = typing.get_type_hints(handler)
        except Exception:  # an annotation that does not resolve: undocumented, as before
            return None
        output = hints.get("return")
        if output is None or output is Any or output is type(None):
            return None
        if isinstance(output, type) and issubclass(output, Response):
            return None
        return output

    async def default(self, request: Request, exc: Exception) -> Response:
        """The answer to ``exc`` when no handler of yours gives one (the app's
        ``default_error_response``).

        An :class:`HTTPException` is an HTML page for a browser (``Accept`` prefers
        ``text/html``) when the app has error pages (``plait.templates``: ``404.html``…),
        else an RFC 9457 problem. Any other exception is logged and answered as a 500 (the
        traceback page with ``debug=True``), without a word of it in the page.
        """
        if isinstance(exc, ClientDisconnect):
            return Response(status_code=400)
        if isinstance(exc, HTTPException):
            problem = exc
        else:
            logger.error("Unhandled exception in %s %s", request.method, request.path, exc_info=exc)
            if self.debug:
                return debug_response(
                    exc, request.method, request.path, request.headers.get("accept", "")
                )
            problem = _INTERNAL
        if self.pages and prefers_html(request.headers.get("accept", "")):
            page = await self._page(request, problem)
            if page is not None:
                return page
        return problem_response(problem)

    async def _page(self, request: Request, exc: HTTPException) -> Response | None:
        for draw in self.pages:
            try:
                page = await draw(request, exc)
            except Exception:
                logger.exception("The error page for a %s failed", exc.status_code)
                continue
            if page is not None:
                page.status_code = exc.status_code
                for name, value in (exc.headers or {}).items():
                    page.headers[name] = value  # Allow for a 405, Retry-After for a 503
                return page
        return None

    def guard(self, app: ASGIApp) -> ASGIApp:
        """Wrap the middleware stack: an error escaping a middleware goes through the
        exception handlers too, and at worst gets a safe 500."""

        async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            started = False

            async def tracking_send(message: Message) -> None:
                nonlocal started
                if message["type"] == "http.response.start":
                    started = True
                await send(message)

            try:
                await app(scope, receive, tracking_send)
            except Exception as exc:
                if started:
                    raise
                # The app's exception handlers apply here too (a session store's database
                # outage raised in a middleware is a 503, as it is in a handler).
                response = await self.respond(Request(scope, receive), exc)
                await response(scope, receive, send)

        return guarded

    async def run_websocket(self, websocket: Any, call: Callable[[Any], Awaitable[Any]]) -> None:
        """Run a WebSocket handler; errors close the connection with a fitting code."""
        try:
            await call(websocket)
        except WebSocketDisconnect:
            return
        except WebSocketException as exc:
            await websocket.close(exc.code, exc.reason)
        except HTTPException as exc:
            # Before accept(), an HTTP error means: refuse the handshake. A 503 (a backing
            # service is down) is 1013, "try again later"; any other error is 1008.
            code = 1013 if exc.status_code == 503 else 1008
            await websocket.close(code, str(exc.detail or exc.title)[:120])
        except Exception as exc:
            logger.error("Unhandled exception in WebSocket %s", websocket.path, exc_info=exc)
            await websocket.close(1011, "Internal error")
