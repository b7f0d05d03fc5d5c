"""The application: route registration, start-up compilation, and the ASGI entry point."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from plait._collected import static_url, use_collected_static
from plait._datastructures import State, WatchedDict
from plait._errorhandling import ErrorHandling, ErrorPage, ExceptionHandler
from plait._exceptions import HTTPException
from plait._formparser import DEFAULT_FORM_LIMITS, FormLimits
from plait._hosts import AllowedHosts
from plait._lifespan import Lifespan, LifespanContext
from plait._matcher import WEBSOCKET, Matcher
from plait._pipeline import ASGIResponder, CompiledRoute, Responder, compile_routes
from plait._request import Request
from plait._responses import RedirectResponse, Response, problem_response, same_site_path
from plait._routing import Mount, Route, Router, WebSocketRoute
from plait._rsgi import rsgi_shutdown, rsgi_startup, serve_rsgi
from plait._settings import (
    BODY_TIMEOUT_ENV,
    DEBUG_ENV,
    Settings,
    env_flag,
    env_seconds,
)
from plait._websockets import WebSocket
from plait.types import ASGIApp, Receive, Scope, Send

__all__ = ["App"]

logger = logging.getLogger("plait.error")
_dict_get: Callable[[Any, str], Any] = dict.get

F = TypeVar("F", bound=Callable[..., Any])
_BAD_HOST = problem_response(HTTPException(400, "Invalid host header"))


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
    set them. ``form_limits`` (:class:`FormLimits`) caps what a form may hold: Django's 1,000
    fields and 2.5 MB of data besides files.
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
        lifespan: LifespanContext | None = None,
        max_body_size: int | None = 10 * 1024 * 1024,
        form_limits: FormLimits | None = None,
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
            _proxy_headers()(self, trusted_proxies=trusted_proxies)  # checks them now
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
        self.form_limits = form_limits if form_limits is not None else DEFAULT_FORM_LIMITS
        """What a form may hold (fields, files, bytes of data): ``request.form()``'s and
        the CSRF check's limits."""
        self.allowed_hosts = list(allowed_hosts) if allowed_hosts is not None else None
        """The hosts the app answers to (``None``: the settings' ``ALLOWED_HOSTS``)."""
        self.hosts: AllowedHosts | None = None
        """The allowed hosts compiled at start-up (``None``: any host)."""
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
        self.lifespan = Lifespan(on_startup, on_shutdown, lifespan)
        """Start-up and shutdown: the hooks, the ``lifespan`` context, open WebSockets."""
        self.startup_hooks = self.lifespan.startup_hooks
        self.shutdown_hooks = self.lifespan.shutdown_hooks
        self.dependency_overrides: dict[Callable[..., Any], Callable[..., Any]] = WatchedDict(
            self._invalidate
        )
        """Replacement dependencies (tests): changing it makes the app compile its routes
        again."""
        self._started = False
        self.ready = False
        """Whether :meth:`build` has run since the routes or overrides last changed."""
        self._bare = False
        self._matcher: Matcher[Any] = Matcher()
        self._static = self._matcher.static
        self._mounts: list[Mount] = []
        self.middleware_stack: ASGIApp = self._dispatch
        """The app wrapped in its middleware (built at start-up); what serves every
        connection that is not a bare app's HTTP request."""
        # PERF: ``app(...)`` runs the class's plain ``__call__`` (Python looks it up on the
        # type); ``app.__call__`` finds this coroutine function first, so servers that
        # inspect it see an ASGI 3 app. Python 3.11's inspect knows no other way to say so.
        vars(self)["__call__"] = self._asgi3

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
        self.lifespan.add(func, startup=True)
        return func

    def on_shutdown(self, func: F) -> F:
        """Run ``func`` (sync or async) when the server stops the app."""
        self._check_open("add a shutdown hook")
        self.lifespan.add(func, startup=False)
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
        if self.ready:
            return
        settings = None if self._started else Settings.load(check=False)
        if settings is not None and self.openapi_url is not None and settings.API_DOCS:
            # The one upward import (docs/architecture.md): the docs pages are on by default.
            from plait.openapi._routes import add_docs_routes

            add_docs_routes(self)
        self._compile_routes()
        if settings is not None:
            if not self.debug and settings.STATIC_ROOT:
                # Production: static files from `plait collectstatic`'s folder, when it ran.
                use_collected_static(self, settings.STATIC_ROOT)
            self.hosts = AllowedHosts.for_app(self.allowed_hosts, settings, debug=self.debug)
            proxies = self.trusted_proxies
            if proxies is None:
                proxies = settings.TRUSTED_PROXIES
            if proxies:
                # Outermost, whatever was added after: every layer sees the real client.
                options = {"trusted_proxies": proxies}
                self.user_middleware.insert(0, (_proxy_headers(), options))
            if not settings.SERVER_HEADER:
                # plait.middleware imports plait: loaded only when the setting asks for it.
                from plait.middleware._security import BlankServerHeader

                self.user_middleware.insert(0, (BlankServerHeader, {}))
            asgi: ASGIApp = self._dispatch
            for cls, options in reversed(self.user_middleware):
                asgi = cls(asgi, **options)
            self.middleware_stack = self.errors.guard(asgi) if self.user_middleware else asgi
            self._started = True
        self.ready = True
        self._bare = not self.user_middleware

    def refuses_host(self, scope: Scope) -> bool:
        """Whether the request's ``Host`` header names a host the app does not serve (answer
        400); see :meth:`AllowedHosts.refuses <plait._hosts.AllowedHosts.refuses>`."""
        return self.hosts is not None and self.hosts.refuses(scope)

    async def send_bad_host(self, scope: Scope, send: Send) -> None:
        """Refuse a connection for a host the app does not serve: a 400, or for a WebSocket
        a close (1008)."""
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": ""})
            return
        await send({"type": "http.response.start", "status": 400, "headers": _BAD_HOST.raw_headers})
        await send({"type": "http.response.body", "body": _BAD_HOST.body})

    def _invalidate(self) -> None:
        self.ready = self._bare = False

    def _compile_routes(self) -> None:
        self._matcher, self._mounts = compile_routes(
            self, self.errors, self.routes, self.dependencies, self.dependency_overrides
        )
        self._static = self._matcher.static

    def compiled_routes(self) -> list[Any]:
        """The compiled routes with their call plans, in registration order (for OpenAPI)."""
        self.build()
        order = {id(route): i for i, route in enumerate(self.routes)}
        return sorted(self._matcher.handlers(), key=lambda c: order.get(id(c.route), 0))

    # ---------------------------------------------------------------- serving

    async def _enter(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Everything but HTTP on a bare app: lifespan, WebSocket, the middleware stack."""
        if not self.ready:
            if scope["type"] == "lifespan":
                await self._lifespan(receive, send)
                return
            self.build()
        kind = scope["type"]
        if (
            self.hosts is not None
            and (kind == "http" or kind == "websocket")
            and self.refuses_host(scope)
        ):
            await self.send_bad_host(scope, send)
            return
        await self.middleware_stack(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self(scope, receive, send, ASGIResponder(scope, receive, send))
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

    def __call__(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        respond: Responder | None = None,
    ) -> Awaitable[None]:
        """The ASGI entry point: route an HTTP request to its compiled pipeline
        (:meth:`CompiledRoute.handle <plait._pipeline.CompiledRoute.handle>`).

        ``respond`` (a :class:`~plait._pipeline.Responder`, given over RSGI and behind user
        middleware) sends the response its own way. Without it, a request that is not HTTP,
        or meets middleware, goes through :meth:`_enter`.
        """
        # PERF: a plain method that returns the coroutine to await: on a bare app, HTTP is
        # routed here and the compiled route's handle() is the one coroutine of a request
        # (servers still see a coroutine function: see :meth:`_asgi3`).
        if respond is None and (not self._bare or scope["type"] != "http"):
            return self._enter(scope, receive, send)
        # PERF: RSGI checks the host before calling (``respond`` given), middleware in _enter.
        hosts = self.hosts
        if respond is None and hosts is not None:
            # PERF: clients send Host first and servers keep the order: a value allowed
            # before is one set lookup; anything else takes the whole check.
            headers = scope["headers"]
            known = headers and headers[0][1] in hosts.seen and headers[0][0] == b"host"
            if not known and self.refuses_host(scope):
                return self.send_bad_host(scope, send)
        # PERF: the common case (no root_path) reads the path straight from the scope.
        # dict.get, not scope.get: RSGI's lazy scope overrides get() in Python, and neither
        # "root_path" nor "state" is one of its lazy keys.
        path = scope["path"] if not _dict_get(scope, "root_path") else self._route_path(scope)
        method = scope["method"]
        # PERF: static paths are one dict hit; only the rest walk the tree.
        leaf = self._static.get(path)
        if leaf is not None:
            compiled = leaf.handlers.get(method)
            if compiled is not None:
                return compiled.handle(scope, receive, send, respond, None)  # type: ignore[no-any-return]
        leaf, values = self._matcher.resolve(leaf, path, method)
        if leaf is None:
            return self._miss(path, scope, receive, send, Request(scope, receive, self))
        compiled = leaf.handlers.get(method)
        if compiled is None or compiled.__class__ is not CompiledRoute:
            return self._not_allowed(leaf.allow, scope, receive, send, respond)
        return compiled.handle(scope, receive, send, respond, values)

    async def _asgi3(
        self, scope: Scope, receive: Receive, send: Send, respond: Responder | None = None
    ) -> None:
        """What ``app.__call__`` reads as: a coroutine function serving as :meth:`__call__`
        does, for the servers that tell ASGI 3 from ASGI 2 or WSGI by
        ``iscoroutinefunction(app.__call__)`` (uvicorn, hypercorn, asgiref)."""
        await self(scope, receive, send, respond)

    async def _not_allowed(
        self, allow: str, scope: Scope, receive: Receive, send: Send, respond: Responder | None
    ) -> None:
        """405 (404 for a path that only has a WebSocket endpoint: not an HTTP resource)."""
        exc = HTTPException(405, headers={"Allow": allow}) if allow else HTTPException(404)
        response = await self.errors.respond(Request(scope, receive, self), exc)
        pending = (
            respond.respond(response) if respond is not None else response(scope, receive, send)
        )
        if pending is not None:
            await pending

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
        path = self._route_path(scope)
        leaf, values = self._matcher.match(path, WEBSOCKET)
        compiled = leaf.handlers.get(WEBSOCKET) if leaf is not None else None
        if compiled is None or leaf is None:
            if not await self._to_mount(path, scope, receive, send):
                await send({"type": "websocket.close", "code": 1000, "reason": ""})
            return
        scope["path_params"] = leaf.params(WEBSOCKET, values) if values else {}
        websocket = WebSocket(scope, receive, send, self)
        self.lifespan.open_websockets.sockets.add(websocket)
        try:
            await self.errors.run_websocket(websocket, compiled.call.run)
            await websocket._finish()
        finally:
            self.lifespan.open_websockets.discard(websocket)
            if websocket.exit_stack is not None:
                await websocket.exit_stack.aclose()

    # ---------------------------------------------------------------- RSGI (granian)

    # PERF: the function itself, not a wrapper: no extra coroutine per request.
    __rsgi__ = serve_rsgi
    __rsgi_init__ = rsgi_startup
    __rsgi_del__ = rsgi_shutdown

    # ---------------------------------------------------------------- lifespan

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await self.lifespan.serve(self, receive, send)

    async def startup(self) -> None:
        """Run start-up without a server (test clients, scripts)."""
        self.build()
        await self.lifespan.start(self)

    async def shutdown(self) -> None:
        await self.lifespan.stop()


def _raise_not_found() -> Response:
    raise HTTPException(404)


def _proxy_headers() -> type:
    # plait.middleware imports plait: loaded only by an app that trusts proxies.
    from plait.middleware._proxyheaders import ProxyHeadersMiddleware

    return ProxyHeadersMiddleware
