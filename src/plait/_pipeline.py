"""The request pipeline: routes compiled once at start-up, then run per request.

:func:`compile_routes` turns the app's routes into a :class:`~plait._matcher.Matcher` of
:class:`CompiledRoute` and :class:`CompiledWebSocket` objects. Per request, the app finds
the compiled route and awaits its :meth:`CompiledRoute.handle`: bind the parameters, call
the handler, render its result, send the response, then clean up (generator dependencies,
uploaded files, background tasks).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

from plait._binding import CompiledCall, compile_plan
from plait._errorhandling import ErrorHandling
from plait._matcher import WEBSOCKET, Matcher, RouteConflictError
from plait._request import Request
from plait._responses import Response
from plait._results import MessageWriter, PreparedResponse, make_message_writer, make_renderer
from plait._routing import Mount, Route, WebSocketRoute
from plait._signature import CallPlan, analyze, response_type
from plait._websockets import WebSocket
from plait.types import Message, Receive, Scope, Send

__all__ = ["ASGIResponder", "CompiledRoute", "CompiledWebSocket", "Responder", "compile_routes"]

logger = logging.getLogger("plait.error")


class Responder(Protocol):
    """Sends a request's response the server's own way (over RSGI, or behind user
    middleware); each method returns what is left to await, if anything."""

    def respond(self, response: Response) -> Awaitable[None] | None:
        """Send ``response``."""

    def write(self, start: Message, body: bytes) -> Awaitable[None] | None:
        """Send a whole response given as ASGI's ``http.response.start`` message and the body
        (what a plain handler's result becomes without a response object)."""


class ASGIResponder:
    """A :class:`Responder` over ASGI's ``send`` (the one behind user middleware)."""

    __slots__ = ("receive", "scope", "send")

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope = scope
        self.receive = receive
        self.send = send

    def respond(self, response: Response) -> Awaitable[None]:
        return response(self.scope, self.receive, self.send)

    async def write(self, start: Message, body: bytes) -> None:
        await self.send(start)
        await self.send({"type": "http.response.body", "body": body})


class CompiledRoute:
    """One HTTP route's pipeline, fixed at start-up: bind parameters, call, render, send."""

    __slots__ = (
        "app",
        "bare",
        "call",
        "direct",
        "errors",
        "needs_request",
        "param_names",
        "plan",
        "render",
        "route",
        "run",
    )

    def __init__(
        self, app: Any, errors: ErrorHandling, route: Route, plan: CallPlan, call: CompiledCall
    ) -> None:
        self.app = app
        self.errors = errors
        self.route = route
        self.plan = plan
        self.call = call
        self.run = call.run
        self.bare = call.bare
        self.needs_request = call.needs_connection
        declared = response_type(route.endpoint, route.response_model)
        self.render = make_renderer(route.status_code, route.response_class, declared)
        self.direct: MessageWriter | None = (
            make_message_writer(route.status_code, route.response_class, declared)
            if call.plain
            else None
        )
        """Sends common results without a response object (plain handlers only: their
        result is all there is to the response)."""
        self.param_names = tuple(s[0] for s in route.segments if not isinstance(s, str))
        """The names of the values the router collects from the path, in order."""

    def __repr__(self) -> str:
        return repr(self.route)

    async def handle(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        respond: Responder | None,
        values: list[Any] | None,
    ) -> None:
        """Serve one request: ``values`` are the path's, in the order of the route's
        parameters; ``respond`` (RSGI, user middleware) sends the response its own way."""
        # PERF: the router gives one value per name; a single one needs no zip().
        if not values:
            scope["path_params"] = {}
        elif len(values) == 1:
            scope["path_params"] = {self.param_names[0]: values[0]}
        else:
            scope["path_params"] = dict(zip(self.param_names, values))  # noqa: B905
        scope["route"] = self.route
        request = None
        ready = None
        try:
            if self.bare is not None:
                result = await self.bare()  # PERF: no parameters: the handler itself, no wrapper
            elif self.needs_request:
                request = Request(scope, receive, self.app)
                result = await self.run(request)
            else:
                # PERF: handlers with only path and query parameters never need a Request:
                # one is built only if they fail and error handlers need it.
                result = await self.run(scope)
            # PERF: a plain handler's str, dict or list result becomes the two ASGI messages
            # directly; no response object, no defaults to apply.
            direct = self.direct
            if direct is not None:
                ready = direct(result)
            if ready is None:
                response = self.render(result)
        except Exception as exc:
            request, response = await self._failed(request, scope, receive, exc)
        if ready is not None:
            try:
                body = b"" if scope["method"] == "HEAD" else ready[1]
                if respond is None:
                    await send(ready[0])
                    await send({"type": "http.response.body", "body": body})
                else:
                    pending = respond.write(ready[0], body)
                    if pending is not None:
                        await pending
            finally:
                if request is not None and request.extras is not None:
                    await request.close()
            return
        extras = request.extras if request is not None else None
        if extras is not None and extras.response is not None:
            _apply_response_defaults(extras.response, response)
        try:
            if respond is not None:
                pending = respond.respond(response)
                if pending is not None:
                    await pending
            elif response.__class__ is PreparedResponse and response.background is None:
                # PERF: a prepared response is two messages; send them without its __call__.
                await send(
                    {
                        "type": "http.response.start",
                        "status": response.status_code,
                        "headers": response.raw_headers,
                    }
                )
                body = b"" if scope["method"] == "HEAD" else response.body
                await send({"type": "http.response.body", "body": body})
            else:
                await response(scope, receive, send)
        finally:
            # Even when sending failed (the client went away mid-stream): close uploaded files
            # (they may be spooled to disk) and run the generator dependencies' cleanup.
            if request is not None:
                if extras is not None:
                    await request.close()
                if request.exit_stack is not None:
                    await _close_after_response(request)
        if extras is not None and extras.background is not None:
            await extras.background()

    async def _failed(
        self, request: Request | None, scope: Scope, receive: Receive, exc: Exception
    ) -> tuple[Request, Response]:
        if request is None:
            request = Request(scope, receive, self.app)
        elif request.exit_stack is not None:
            exc = await _unwind(request, exc)
        # Work queued by a handler that then failed must not run (no welcome email for a
        # sign-up that answered 409).
        if request.extras is not None:
            request.extras.background = None
        return request, await self.errors.respond(request, exc)


class CompiledWebSocket:
    """One WebSocket route, fixed at start-up."""

    __slots__ = ("call", "plan", "route")

    def __init__(self, route: WebSocketRoute, plan: CallPlan, call: CompiledCall) -> None:
        self.route = route
        self.plan = plan
        self.call = call

    def __repr__(self) -> str:
        return repr(self.route)


def compile_routes(
    app: Any,
    errors: ErrorHandling,
    routes: Sequence[Route | WebSocketRoute | Mount],
    dependencies: Sequence[Any],
    overrides: Mapping[Callable[..., Any], Callable[..., Any]],
) -> tuple[Matcher[Any], list[Mount]]:
    """Every route compiled into a matcher, and the mounts, longest path first."""
    matcher: Matcher[Any] = Matcher()
    mounts: list[Mount] = []
    implicit_head: list[CompiledRoute] = []
    for route in routes:
        if isinstance(route, Mount):
            mounts.append(route)
            continue
        kind = Request if isinstance(route, Route) else WebSocket
        plan = analyze(
            route.endpoint, route.convertors, kind, overrides, [*dependencies, *route.dependencies]
        )
        if isinstance(route, WebSocketRoute):
            ws = CompiledWebSocket(route, plan, compile_plan(plan))
            matcher.add(route.segments, WEBSOCKET, ws, repr(route))
            continue
        compiled = CompiledRoute(app, errors, route, plan, compile_plan(plan))
        for method in sorted(route.methods):
            matcher.add(route.segments, method, compiled, repr(route))
        if "GET" in route.methods and "HEAD" not in route.methods:
            implicit_head.append(compiled)
    # Automatic HEAD for GET routes comes after every explicit route, so that an explicit
    # HEAD handler on the same path wins whatever the order they were registered in.
    for compiled in implicit_head:
        with contextlib.suppress(RouteConflictError):
            matcher.add(compiled.route.segments, "HEAD", compiled, repr(compiled.route))
    mounts.sort(key=lambda mount: len(mount.path), reverse=True)
    return matcher, mounts


async def _unwind(request: Request, exc: Exception) -> Exception:
    """Close generator dependencies with the handler's error, so they can roll back."""
    stack, request.exit_stack = request.exit_stack, None
    assert stack is not None
    try:
        await stack.__aexit__(type(exc), exc, exc.__traceback__)
    except Exception as cleanup_exc:
        return cleanup_exc
    return exc


async def _close_after_response(request: Request) -> None:
    """Run generator cleanups; the response is gone, so a failure can only be logged."""
    assert request.exit_stack is not None
    try:
        await request.exit_stack.aclose()
    except Exception:
        logger.exception(
            "A dependency's cleanup failed after the response to %s %s was sent",
            request.method,
            request.path,
        )


def _apply_response_defaults(defaults: Response, response: Response) -> None:
    """What handlers set on an injected ``Response`` (headers, cookies, status)."""
    response.raw_headers.extend(defaults.raw_headers)
    if defaults.status_code:
        response.status_code = defaults.status_code
