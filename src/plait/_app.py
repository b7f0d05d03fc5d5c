"""The application: route registration, start-up compilation, and the ASGI entry point."""

from __future__ import annotations

import contextlib
import inspect
import logging
import typing
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from plait._binding import Call, compile_plan
from plait._datastructures import State
from plait._errorhandling import ErrorHandling, ErrorPage, ExceptionHandler, problem_response
from plait._exceptions import HTTPException
from plait._hosts import LOCAL_HOSTS, AllowedHosts
from plait._matcher import WEBSOCKET, Matcher, RouteConflictError
from plait._request import Request
from plait._responses import RedirectResponse, Response, same_site_path
from plait._results import Direct, PreparedResponse, make_direct, make_renderer
from plait._routing import Mount, Route, Router, WebSocketRoute
from plait._rsgi import rsgi_shutdown, rsgi_startup, serve_rsgi
from plait._settings import (
    BODY_TIMEOUT_ENV,
    DEBUG_ENV,
    Settings,
    SettingsError,
    env_flag,
    env_seconds,
)
from plait._shutdown import OpenWebSockets, install_quietly
from plait._signature import CallPlan, analyze
from plait._staticfiles import static_url, use_collected_static
from plait.types import ASGIApp, Receive, Scope, Send

__all__ = ["App"]

logger = logging.getLogger("plait.error")
_dict_get: Callable[[Any, str], Any] = dict.get

F = TypeVar("F", bound=Callable[..., Any])
_BAD_HOST = problem_response(HTTPException(400, "Invalid host header"))
Lifespan = Callable[["App"], contextlib.AbstractAsyncContextManager[Any]]


class _CompiledRoute:
    """One route's request pipeline, fixed at start-up: bind parameters, call, render."""

    __slots__ = ("call", "direct", "needs_request", "param_names", "plan", "render", "route")

    def __init__(
        self,
        route: Route,
        plan: CallPlan,
        call: Call,
        render: Callable[[Any], Response],
        direct: Direct | None,
    ) -> None:
        self.route = route
        self.plan = plan
        self.call = call
        self.render = render
        self.direct = direct
        """Sends common results without a response object (plain handlers only)."""
        self.needs_request: bool = getattr(call, "needs_connection", True)
        """False when ``call`` takes the scope: the request is only built if it fails."""
        self.param_names = tuple(s[0] for s in route.segments if not isinstance(s, str))
        """The names of the values the router collects from the path, in order."""

    def __repr__(self) -> str:
        return repr(self.route)


class _CompiledWebSocket:
    __slots__ = ("call", "plan", "route")

    def __init__(self, route: WebSocketRoute, plan: CallPlan, call: Call) -> None:
        self.route = route
        self.plan = plan
        self.call = call

    def __repr__(self) -> str:
        return repr(self.route)


class App(Router):
    """A plait application: an ASGI app (and an RSGI app on granian)::

        from plait import App

        app = App()

        @app.get("/")
        def index():
            return "Hello, World!"

    Routes, middleware and handlers may be added until the app starts; then everything is
    compiled once and frozen, and adding more is an error.

    ``debug`` (debug pages for errors) defaults to ``PLAIT_DEBUG``, as :class:`Settings`
    reads it; ``body_timeout`` (seconds a request body may go without data before a 408;
    ``0``: none) to ``PLAIT_BODY_TIMEOUT``, or 30. ``plait run --debug`` and ``--body-timeout``
    set them.
    """

    def __init__(
        self,
        *,
        debug: bool | None = None,
        title: str = "plait",
        version: str = "0.1.0",
        description: str | None = None,
        middleware: Sequence[tuple[type, Mapping[str, Any]]] = (),
        exception_handlers: Mapping[type[BaseException] | int, ExceptionHandler] | None = None,
        on_startup: Sequence[Callable[[], Any]] = (),
        on_shutdown: Sequence[Callable[[], Any]] = (),
        lifespan: Lifespan | None = None,
        max_body_size: int | None = 10 * 1024 * 1024,
        body_timeout: float | None = None,
        redirect_slashes: bool = True,
        dependencies: Sequence[Any] | None = None,
        openapi_url: str | None = "/openapi.json",
        docs_url: str | None = "/docs",
        redoc_url: str | None = "/redoc",
        openapi_tags: Sequence[Mapping[str, Any]] | None = None,
        servers: Sequence[Mapping[str, Any]] | None = None,
        allowed_hosts: Sequence[str] | None = None,
        trusted_proxies: Sequence[str] | None = None,
    ) -> None:
        super().__init__(dependencies=dependencies)
        if trusted_proxies:
            from plait.middleware._proxyheaders import ProxyHeadersMiddleware

            ProxyHeadersMiddleware(self, trusted_proxies=trusted_proxies)  # checks them now
        self.trusted_proxies = list(trusted_proxies) if trusted_proxies is not None else None
        """Proxies whose forwarded headers are believed (``None``: the settings'
        ``TRUSTED_PROXIES``, read at start-up)."""
        debug = env_flag(DEBUG_ENV) if debug is None else debug
        self.debug = debug
        self.title = title
        self.version = version
        self.description = description
        # OpenAPI (plait.openapi): no openapi_url turns the docs pages off too.
        self.openapi_url = openapi_url
        self.docs_url = docs_url
        self.redoc_url = redoc_url
        self.openapi_tags = list(openapi_tags) if openapi_tags else None
        self.servers = list(servers) if servers else None
        self.max_body_size = max_body_size
        self.allowed_hosts = list(allowed_hosts) if allowed_hosts is not None else None
        """The hosts the app answers to (``None``: the settings' ``ALLOWED_HOSTS``)."""
        self._hosts: AllowedHosts | None = None
        self.body_timeout = (
            env_seconds(BODY_TIMEOUT_ENV, 30.0) if body_timeout is None else body_timeout
        )
        self.redirect_slashes = redirect_slashes
        self.state = State()
        self.user_middleware: list[tuple[type, dict[str, Any]]] = [
            (cls, dict(opts)) for cls, opts in middleware
        ]
        self.errors = ErrorHandling(debug=debug)
        for key, handler in (exception_handlers or {}).items():
            self.errors.add(key, handler)
        self.startup_hooks: list[Callable[[], Any]] = list(on_startup)
        self.shutdown_hooks: list[Callable[[], Any]] = list(on_shutdown)
        # (is a start-up hook, hook) in the order added: a failed start-up stops what began.
        self._hook_order = [(True, h) for h in on_startup] + [(False, h) for h in on_shutdown]
        self.lifespan_context = lifespan
        self.dependency_overrides: dict[Callable[..., Any], Callable[..., Any]] = _Overrides(
            self._invalidate
        )
        self._started = False
        self._ready = False
        self._bare = False
        self._matcher: Matcher[Any] = Matcher()
        self._static = self._matcher.static
        self._mounts: list[Mount] = []
        self._asgi: ASGIApp = self._dispatch
        self._lifespan_stack: contextlib.AsyncExitStack | None = None
        self._open_websockets = OpenWebSockets()

    # ---------------------------------------------------------------- registration

    def _check_open(self, what: str) -> None:
        if self._started:
            raise RuntimeError(
                f"Cannot {what} after the app has started: register everything before serving"
            )

    def _add(self, route: Route | WebSocketRoute | Mount) -> None:
        self._check_open("add a route")
        super()._add(route)

    def add_middleware(self, middleware_class: type, **options: Any) -> None:
        """Wrap the app in an ASGI middleware; the last one added runs first."""
        self._check_open("add middleware")
        self.user_middleware.insert(0, (middleware_class, options))

    def exception_handler(self, key: type[BaseException] | int) -> Callable[[F], F]:
        """Handle an exception type (or an HTTP error status) with the decorated function."""
        self._check_open("add an exception handler")

        def decorator(func: F) -> F:
            self.errors.add(key, func)
            return func

        return decorator

    def add_exception_handler(
        self, key: type[BaseException] | int, handler: ExceptionHandler
    ) -> None:
        self._check_open("add an exception handler")
        self.errors.add(key, handler)

    def add_error_pages(self, draw: ErrorPage) -> None:
        """Let ``draw(request, exc)`` answer browsers' errors with an HTML page.

        Called for an :class:`HTTPException` no handler of yours answered (a 500 arrives as
        ``HTTPException(500)``, without the original error) when the client prefers
        ``text/html``; returning None falls through to the next, then to problem JSON.
        ``Templates(app)`` adds one that renders ``404.html``, ``500.html``…
        """
        self.errors.pages.append(draw)

    async def default_error_response(self, request: Request, exc: Exception) -> Response:
        """plait's own answer to ``exc``: the way back from a handler of yours::

            @app.exception_handler(404)
            async def not_found(request: Request, exc: HTTPException) -> Response:
                if request.url.path.startswith("/old/"):
                    return RedirectResponse("/new/" + request.url.path[5:], status_code=301)
                return await request.app.default_error_response(request, exc)

        An HTML error page for a browser when the app has them, else problem JSON; a 500 for
        anything that is not an :class:`HTTPException`. (A handler re-raising ``exc`` gets
        the same.)
        """
        return await self.errors.default(request, exc)

    def on_startup(self, func: F) -> F:
        """Run ``func`` (sync or async) when the server starts the app."""
        self._check_open("add a start-up hook")
        self.startup_hooks.append(func)
        self._hook_order.append((True, func))
        return func

    def on_shutdown(self, func: F) -> F:
        """Run ``func`` (sync or async) when the server stops the app."""
        self._check_open("add a shutdown hook")
        self.shutdown_hooks.append(func)
        self._hook_order.append((False, func))
        return func

    def url_path_for(self, name: str, /, **params: Any) -> str:
        """The path of the route called ``name`` with ``params`` filled in (reverse routing)."""
        for route in self.routes:
            if route.name == name:
                return route.url_path(**params)
        raise LookupError(f"No route named {name!r}")

    def static_url(self, path: str, /, *, name: str = "static") -> str:
        """The URL path of the static file ``path`` under the static mount called ``name``::

            app.static("/static", "static", name="static")
            app.static_url("css/app.css")  # "/static/css/app.css"

        With DEBUG off, after ``plait collectstatic``, it is the content-hashed name
        (``/static/css/app.3f2a9c1b7e4d.css``), served with ``Cache-Control: immutable``.
        Templates call it as ``static_url('css/app.css')``.
        """
        return static_url(self, path, name=name)

    # ---------------------------------------------------------------- start-up

    def build(self) -> None:
        """Compile routes, handlers and the middleware stack; then freeze the app.

        Called on lifespan start-up, or on the first request when the server sends no
        lifespan events. Calling it again does nothing, unless ``dependency_overrides``
        changed since: then the routes are compiled again with the overrides.
        """
        if self._ready:
            return
        settings = None if self._started else Settings.load(check=False)
        if settings is not None and self.openapi_url is not None and settings.API_DOCS:
            from plait.openapi._routes import add_docs_routes

            add_docs_routes(self)
        self._compile_routes()
        if settings is not None:
            if not self.debug and settings.STATIC_ROOT:
                # Production: static files from `plait collectstatic`'s folder, when it ran.
                use_collected_static(self, settings.STATIC_ROOT)
            self._hosts = self._compile_hosts(settings)
            proxies = self.trusted_proxies
            if proxies is None:
                proxies = settings.TRUSTED_PROXIES
            if proxies:
                from plait.middleware._proxyheaders import ProxyHeadersMiddleware

                # Outermost, whatever was added after: every layer sees the real client.
                options = {"trusted_proxies": proxies}
                self.user_middleware.insert(0, (ProxyHeadersMiddleware, options))
            if not settings.SERVER_HEADER:
                from plait.middleware._security import BlankServerHeader

                self.user_middleware.insert(0, (BlankServerHeader, {}))
            asgi: ASGIApp = self._dispatch
            for cls, options in reversed(self.user_middleware):
                asgi = cls(asgi, **options)
            self._asgi = self.errors.guard(asgi) if self.user_middleware else asgi
            self._started = True
        self._ready = True
        self._bare = not self.user_middleware

    def _compile_hosts(self, settings: Settings) -> AllowedHosts | None:
        """The allowed hosts' matcher; ``None`` when any host is (``["*"]``)."""
        patterns: Sequence[str] | None = self.allowed_hosts
        if patterns is None:
            patterns = settings.ALLOWED_HOSTS
        if not patterns:
            if not self.debug:
                raise SettingsError(
                    [
                        "No allowed hosts and DEBUG is off: set PLAIT_ALLOWED_HOSTS (the "
                        "ALLOWED_HOSTS setting) or App(allowed_hosts=[...]) to the host names "
                        "the app serves, e.g. PLAIT_ALLOWED_HOSTS=example.com,.example.org"
                    ]
                )
            patterns = LOCAL_HOSTS
        hosts = AllowedHosts(patterns)
        return None if hosts.allow_any else hosts

    def refuses_host(self, scope: Scope) -> bool:
        """Whether the request's ``Host`` header names a host the app does not serve (answer
        400). A request without one (HTTP/1.0) is served: URLs then use the server's own
        address. The test client's own host (its ``base_url``) is trusted."""
        hosts = self._hosts
        if hosts is None:
            return False
        for name, value in scope["headers"]:
            if name == b"host":
                if hosts.allows(value):
                    return False
                extensions = scope.get("extensions")
                test_client = extensions.get("plait.testclient") if extensions else None
                return test_client is None or test_client.get("host") != value
        return False

    async def _refuse_host(self, scope: Scope, send: Send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": ""})
            return
        await send({"type": "http.response.start", "status": 400, "headers": _BAD_HOST.raw_headers})
        await send({"type": "http.response.body", "body": _BAD_HOST.body})

    def _invalidate(self) -> None:
        self._ready = self._bare = False

    def _compile_routes(self) -> None:
        from plait._websockets import WebSocket

        matcher: Matcher[Any] = Matcher()
        mounts: list[Mount] = []
        implicit_head: list[_CompiledRoute] = []
        for route in self.routes:
            if isinstance(route, Mount):
                mounts.append(route)
                continue
            plan = analyze(
                route.endpoint,
                route.convertors,
                Request if isinstance(route, Route) else WebSocket,
                self.dependency_overrides,
                [*self.dependencies, *route.dependencies],
            )
            if isinstance(route, WebSocketRoute):
                ws = _CompiledWebSocket(route, plan, compile_plan(plan))
                matcher.add(route.segments, WEBSOCKET, ws, repr(route))
                continue
            declared = response_type(route)
            render = make_renderer(route.status_code, route.response_class, declared)
            call = compile_plan(plan)
            # Only a plain handler's result is all there is to its response (no injected
            # Response, background tasks or cleanups).
            direct = (
                make_direct(route.status_code, route.response_class, declared)
                if getattr(call, "plain", False)
                else None
            )
            compiled = _CompiledRoute(route, plan, call, render, direct)
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
        self._matcher, self._mounts = matcher, mounts
        self._static = matcher.static

    def compiled_routes(self) -> list[Any]:
        """The compiled routes with their call plans, in registration order (for OpenAPI)."""
        self.build()
        seen: dict[int, Any] = {}
        for leaf in [*self._matcher.static.values(), *_tree_leaves(self._matcher)]:
            for compiled in leaf.handlers.values():
                seen.setdefault(id(compiled), compiled)
        order = {id(route): i for i, route in enumerate(self.routes)}
        return sorted(seen.values(), key=lambda c: order.get(id(c.route), 0))

    # ---------------------------------------------------------------- serving

    async def _enter(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Everything but HTTP on a bare app: lifespan, WebSocket, the middleware stack."""
        if not self._ready:
            if scope["type"] == "lifespan":
                await self._lifespan(receive, send)
                return
            self.build()
        kind = scope["type"]
        if (
            self._hosts is not None
            and (kind == "http" or kind == "websocket")
            and self.refuses_host(scope)
        ):
            await self._refuse_host(scope, send)
            return
        await self._asgi(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":

            def respond(response: Response) -> Awaitable[None]:
                return response(scope, receive, send)

            await self(scope, receive, send, respond)
        elif kind == "websocket":
            await self._websocket(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    def _route_path(self, scope: Scope) -> str:
        path: str = scope["path"]
        root = scope.get("root_path")
        if root and path.startswith(root):
            path = path[len(root) :] or "/"
        return path

    async def __call__(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        respond: Callable[[Response], Awaitable[None] | None] | None = None,
    ) -> None:
        """The ASGI entry point, and the HTTP pipeline itself.

        ``respond`` (given over RSGI, and behind user middleware) sends the handler's response
        its own way and returns what is left to await, if anything. Without it, a request
        that is not HTTP, or meets middleware, goes through :meth:`_enter`.
        """
        # PERF: on a bare app, HTTP is served right here, in the coroutine the server awaits:
        # no second coroutine per request.
        if respond is None and (not self._bare or scope["type"] != "http"):
            await self._enter(scope, receive, send)
            return
        # PERF: RSGI checks the host before calling (``respond`` given), middleware in _enter.
        if respond is None and self._hosts is not None and self.refuses_host(scope):
            await self._refuse_host(scope, send)
            return
        # PERF: the common case (no root_path) reads the path straight from the scope.
        # dict.get, not scope.get: RSGI's lazy scope overrides get() in Python, and neither
        # "root_path" nor "state" is one of its lazy keys.
        path = scope["path"] if not _dict_get(scope, "root_path") else self._route_path(scope)
        method = scope["method"]
        # PERF: static paths are one dict hit; only the rest walk the tree.
        leaf = self._static.get(path)
        values: list[Any] | None = None
        compiled = leaf.handlers.get(method) if leaf is not None else None
        if compiled is None:
            leaf, values = self._matcher.resolve(leaf, path, method)
            if leaf is None:
                await self._miss(path, scope, receive, send, Request(scope, receive, self))
                return
            compiled = leaf.handlers.get(method)
        request = None
        ready = None
        try:
            if compiled is None or compiled.__class__ is not _CompiledRoute:
                # A path that only has a WebSocket endpoint is not an HTTP resource at all.
                allow = leaf.allow if leaf is not None else ""
                if not allow:
                    raise HTTPException(404)
                raise HTTPException(405, headers={"Allow": allow})
            # PERF: the router gives one value per name; a single one needs no zip().
            if not values:
                scope["path_params"] = {}
            elif len(values) == 1:
                scope["path_params"] = {compiled.param_names[0]: values[0]}
            else:
                scope["path_params"] = dict(zip(compiled.param_names, values))  # noqa: B905
            scope["route"] = compiled.route
            if compiled.needs_request:
                request = Request(scope, receive, self)
                result = await compiled.call(request)
            else:
                # PERF: handlers without parameters, or with only path and query ones, never
                # need a Request: one is built only if they fail and error handlers need it.
                result = await compiled.call(scope)
            # PERF: with no middleware, a plain handler's str, dict or list result becomes
            # the two ASGI messages directly; no response object, no defaults to apply.
            if respond is None and compiled.direct is not None:
                ready = compiled.direct(result)
            if ready is None:
                response = compiled.render(result)
        except Exception as exc:
            if request is None:
                request = Request(scope, receive, self)
            elif request.exit_stack is not None:
                exc = await _unwind(request, exc)
            # Work queued by a handler that then failed must not run (no welcome email for a
            # sign-up that answered 409).
            scope.get("state", {}).pop("background_tasks", None)
            response = await self.errors.respond(request, exc)
        if ready is not None:
            try:
                await send(ready[0])
                body = b"" if method == "HEAD" else ready[1]
                await send({"type": "http.response.body", "body": body})
            finally:
                if request is not None and request._form is not None:
                    await request.close()
            return
        state = _dict_get(scope, "state")
        if state and "response_defaults" in state:
            _apply_response_defaults(state["response_defaults"], response)
        try:
            if respond is not None:
                pending = respond(response)
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
                body = b"" if method == "HEAD" else response.body
                await send({"type": "http.response.body", "body": body})
            else:
                await response(scope, receive, send)
        finally:
            # Even when sending failed (the client went away mid-stream): close uploaded files
            # (they may be spooled to disk) and run the generator dependencies' cleanup.
            if request is not None:
                if request._form is not None:
                    await request.close()
                if request.exit_stack is not None:
                    await _close_after_response(request)
        if state and "background_tasks" in state:
            await state["background_tasks"]()

    async def _to_mount(self, path: str, scope: Scope, receive: Receive, send: Send) -> bool:
        """Hand the connection to the mount owning ``path``, if any (longest prefix first)."""
        for mount in self._mounts:
            if path == mount.path or path.startswith(mount.path + "/"):
                child = dict(scope)
                child["root_path"] = scope.get("root_path", "") + mount.path
                await mount.app(child, receive, send)
                return True
        return False

    async def _miss(
        self, path: str, scope: Scope, receive: Receive, send: Send, request: Request
    ) -> None:
        if await self._to_mount(path, scope, receive, send):
            return
        response: Response
        try:
            response = self._redirect_slash(path, scope) or _raise_not_found()
        except Exception as exc:
            response = await self.errors.respond(request, exc)
        await response(scope, receive, send)

    def _redirect_slash(self, path: str, scope: Scope) -> Response | None:
        if not self.redirect_slashes or path == "/":
            return None
        other = path[:-1] if path.endswith("/") else path + "/"
        leaf, _ = self._matcher.match(other, scope["method"])
        if leaf is None:
            return None
        target = same_site_path(scope.get("root_path", "") + other)
        query = scope.get("query_string", b"")
        if query:
            target += "?" + query.decode("latin-1")
        return RedirectResponse(target, status_code=308)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        from plait._websockets import WebSocket

        path = self._route_path(scope)
        leaf, values = self._matcher.match(path, WEBSOCKET)
        compiled = leaf.handlers.get(WEBSOCKET) if leaf is not None else None
        if compiled is None or leaf is None:
            if not await self._to_mount(path, scope, receive, send):
                await send({"type": "websocket.close", "code": 1000, "reason": ""})
            return
        scope["path_params"] = leaf.params(WEBSOCKET, values) if values else {}
        websocket = WebSocket(scope, receive, send, self)
        self._open_websockets.sockets.add(websocket)
        try:
            await self.errors.run_websocket(websocket, compiled.call)
            await websocket._finish()
        finally:
            self._open_websockets.discard(websocket)
            if websocket.exit_stack is not None:
                await websocket.exit_stack.aclose()

    # ---------------------------------------------------------------- RSGI (granian)

    # PERF: the function itself, not a wrapper: no extra coroutine per request.
    __rsgi__ = serve_rsgi
    __rsgi_init__ = rsgi_startup
    __rsgi_del__ = rsgi_shutdown

    # ---------------------------------------------------------------- lifespan

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        message = await receive()
        if message["type"] != "lifespan.startup":
            return
        try:
            self.build()
            async with self._lifespan_hooks():
                await send({"type": "lifespan.startup.complete"})
                message = await receive()
        except BaseException as exc:
            failed = "shutdown" if message["type"] == "lifespan.shutdown" else "startup"
            logger.exception("Application %s failed", "start-up" if failed == "startup" else failed)
            await send({"type": f"lifespan.{failed}.failed", "message": repr(exc)})
            # A failed start-up is reported, not raised; cancellation and Ctrl-C still propagate.
            if failed == "startup" and isinstance(exc, Exception):
                return
            raise
        await send({"type": "lifespan.shutdown.complete"})

    @contextlib.asynccontextmanager
    async def _lifespan_hooks(self) -> AsyncIterator[None]:
        install_quietly(self._open_websockets)  # SIGTERM closes WebSockets with 1001 first
        for hook in self.startup_hooks:
            try:
                await _maybe_await(hook())
            except BaseException:
                await self._stop_after_failed_startup(hook)
                raise
        if self.lifespan_context is not None:
            entered = False
            try:
                async with self.lifespan_context(self) as state:
                    entered = True
                    if isinstance(state, Mapping):
                        for key, value in state.items():
                            setattr(self.state, key, value)
                    yield
            except BaseException:
                if not entered:
                    await self._stop_after_failed_startup(None)
                raise
        else:
            yield
        for hook in self.shutdown_hooks:
            await _maybe_await(hook())

    async def _stop_after_failed_startup(self, failed: Callable[[], Any] | None) -> None:
        """Run the shutdown hooks added before the start-up hook ``failed`` (all of them when
        the lifespan context failed): what a battery opened is closed, errors only logged."""
        before: list[Callable[[], Any]] = []
        for is_startup, hook in self._hook_order:
            if is_startup and hook is failed:
                break
            if not is_startup:
                before.append(hook)
        for hook in self.shutdown_hooks:
            if any(hook is earlier for earlier in before):
                try:
                    await _maybe_await(hook())
                except Exception:
                    logger.exception("Shutdown hook %r failed after a failed start-up", hook)

    async def startup(self) -> None:
        """Run start-up without a server (test clients, scripts)."""
        self.build()
        self._lifespan_stack = contextlib.AsyncExitStack()
        await self._lifespan_stack.enter_async_context(self._lifespan_hooks())

    async def shutdown(self) -> None:
        stack = self._lifespan_stack
        if stack is not None:
            self._lifespan_stack = None
            await stack.aclose()


class _Overrides(dict[Callable[..., Any], Callable[..., Any]]):
    """``app.dependency_overrides``: changing it makes the app recompile its routes."""

    def __init__(self, on_change: Callable[[], None]) -> None:
        super().__init__()
        self._on_change = on_change

    def __setitem__(self, key: Callable[..., Any], value: Callable[..., Any]) -> None:
        super().__setitem__(key, value)
        self._on_change()

    def __delitem__(self, key: Callable[..., Any]) -> None:
        super().__delitem__(key)
        self._on_change()

    def clear(self) -> None:
        super().clear()
        self._on_change()

    def pop(self, key: Any, *default: Any) -> Any:
        value = super().pop(key, *default)
        self._on_change()
        return value

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self._on_change()


def response_type(route: Route) -> Any:
    """The declared output type: ``response_model=`` or the handler's return annotation."""
    if route.response_model is not None:
        return route.response_model
    try:
        hints = typing.get_type_hints(route.endpoint, include_extras=True)
    except (NameError, TypeError):
        return None
    return hints.get("return")


def _tree_leaves(matcher: Matcher[Any]) -> list[Any]:
    leaves: list[Any] = []
    stack = [matcher._root]
    while stack:
        node = stack.pop()
        if node.leaf is not None:
            leaves.append(node.leaf)
        if node.rest is not None:
            leaves.append(node.rest[1])
        stack.extend(node.static.values())
        stack.extend(child for _, _, child in node.params)
    return leaves


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


def _raise_not_found() -> Response:
    raise HTTPException(404)


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value
