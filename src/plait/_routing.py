"""Route definitions and the registration API shared by ``App`` and ``Router``.

Routers only *record* what is registered on them; ``include_router`` replays those records
with the prefix, tags and dependencies combined. Nothing is compiled until the app starts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar, Unpack

from plait._convertors import CONVERTORS, Convertor
from plait._staticfiles import StaticFiles

if TYPE_CHECKING:
    import os

    from plait._responses import Response
    from plait.types import ASGIApp

__all__ = [
    "BaseRoute",
    "Mount",
    "Route",
    "RouteOptions",
    "Router",
    "Segment",
    "WebSocketRoute",
    "parse_path",
]

F = TypeVar("F", bound=Callable[..., Any])

Segment = str | tuple[str, str, Convertor]
"""A static segment, or ``(param name, convertor name, convertor)``."""


def parse_path(path: str) -> tuple[list[Segment], dict[str, Convertor]]:
    """Split ``/items/{item_id:int}`` into segments; parameters must fill a whole segment."""
    if not path.startswith("/"):
        raise ValueError(f"Route path {path!r} must start with '/'")
    segments: list[Segment] = []
    params: dict[str, Convertor] = {}
    parts = path[1:].split("/")
    for index, part in enumerate(parts):
        if "{" not in part and "}" not in part:
            segments.append(part)
            continue
        if not (part.startswith("{") and part.endswith("}")) or part.count("{") != 1:
            raise ValueError(
                f"Route path {path!r}: a parameter must be a whole segment, like '/{{name}}'"
            )
        name, _, conv_name = part[1:-1].partition(":")
        conv_name = conv_name or "str"
        if not name.isidentifier():
            raise ValueError(f"Route path {path!r}: {name!r} is not a valid parameter name")
        if name in params:
            raise ValueError(f"Route path {path!r}: parameter {name!r} appears twice")
        convertor = CONVERTORS.get(conv_name)
        if convertor is None:
            known = ", ".join(sorted(CONVERTORS))
            raise ValueError(f"Route path {path!r}: unknown convertor {conv_name!r} ({known})")
        if convertor.matches_rest and index != len(parts) - 1:
            raise ValueError(f"Route path {path!r}: a {conv_name!r} parameter must come last")
        params[name] = convertor
        segments.append((name, conv_name, convertor))
    return segments, params


class RouteOptions(TypedDict, total=False):
    """Options every route decorator takes (``get``, ``post``, ``route``…)."""

    name: str | None
    status_code: int | None
    response_class: type[Response] | None
    response_model: Any
    responses: dict[int, Any] | None
    tags: Sequence[str] | None
    dependencies: Sequence[Any] | None
    summary: str | None
    description: str | None
    deprecated: bool
    include_in_schema: bool
    operation_id: str | None


class BaseRoute:
    """What every routing entry has: a path template and an optional name."""

    path: str
    name: str | None

    def url_path(self, **params: Any) -> str:
        segments, convertors = parse_path(self.path)
        missing = set(convertors) - set(params)
        extra = set(params) - set(convertors)
        if missing or extra:
            raise ValueError(
                f"Route {self.name!r} ({self.path}) needs parameters {sorted(convertors)}, "
                f"got {sorted(params)}"
            )
        out = []
        for segment in segments:
            if isinstance(segment, str):
                out.append(segment)
            else:
                name, _, convertor = segment
                out.append(convertor.to_string(params[name]))
        path = "/" + "/".join(out)
        if path[1:2] in ("/", "\\"):
            # "//evil" and "/\\evil" are URLs on the host "evil" for a browser (issue 12,
            # finding 7): the parameter's leading slash is encoded.
            path = "/" + ("%2F" if path[1] == "/" else "%5C") + path[2:]
        return path


class Route(BaseRoute):
    """An HTTP endpoint: a path, methods, the handler and its options."""

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        methods: Iterable[str] = ("GET",),
        **options: Unpack[RouteOptions],
    ) -> None:
        self.path = path
        self.endpoint = endpoint
        self.segments, self.convertors = parse_path(path)
        self.methods = frozenset(m.upper() for m in methods)
        if not self.methods:
            raise ValueError(f"Route {path!r} needs at least one method")
        self.name = options.get("name") or getattr(endpoint, "__name__", None)
        self.status_code = options.get("status_code")
        self.response_class = options.get("response_class")
        self.response_model = options.get("response_model")
        self.responses = dict(options.get("responses") or {})
        self.tags = list(options.get("tags") or ())
        self.dependencies = list(options.get("dependencies") or ())
        self.summary = options.get("summary")
        self.description = options.get("description")
        self.deprecated = options.get("deprecated", False)
        self.include_in_schema: bool | None = options.get("include_in_schema")
        """In the OpenAPI document? ``None``: yes, unless the route answers an HTML page."""
        self.operation_id = options.get("operation_id")

    def copy_with(self, prefix: str, tags: Sequence[str], dependencies: Sequence[Any]) -> Route:
        """This route as included under ``prefix`` with extra tags and dependencies."""
        route = object.__new__(Route)
        route.__dict__.update(self.__dict__)
        route.path = prefix + self.path if prefix else self.path
        route.segments, route.convertors = parse_path(route.path)
        route.tags = [*tags, *(t for t in self.tags if t not in tags)]
        route.dependencies = [*dependencies, *self.dependencies]
        return route

    def __repr__(self) -> str:
        return f"Route({self.path!r}, methods={sorted(self.methods)}, name={self.name!r})"


class WebSocketRoute(BaseRoute):
    """A WebSocket endpoint."""

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        name: str | None = None,
        dependencies: Sequence[Any] | None = None,
    ) -> None:
        self.path = path
        self.endpoint = endpoint
        self.segments, self.convertors = parse_path(path)
        self.name = name or getattr(endpoint, "__name__", None)
        self.dependencies = list(dependencies or ())

    def copy_with(
        self, prefix: str, tags: Sequence[str], dependencies: Sequence[Any]
    ) -> WebSocketRoute:
        return WebSocketRoute(
            prefix + self.path,
            self.endpoint,
            name=self.name,
            dependencies=[*dependencies, *self.dependencies],
        )

    def __repr__(self) -> str:
        return f"WebSocketRoute({self.path!r}, name={self.name!r})"


class Mount(BaseRoute):
    """Any ASGI app served under a path prefix (``root_path`` grows by the prefix).

    Mounts are tried only when no route matches, longest prefix first; a mount at ``"/"``
    catches everything else — the way to serve an old Flask or Django app beside the new
    routes and move it over one URL at a time.
    """

    def __init__(self, path: str, app: ASGIApp, *, name: str | None = None) -> None:
        if not path.startswith("/") or "{" in path:
            raise ValueError(f"Mount path {path!r} must be a plain path starting with '/'")
        path = path.rstrip("/")
        self.path = path
        self.app = app
        self.name = name

    def copy_with(self, prefix: str, tags: Sequence[str], dependencies: Sequence[Any]) -> Mount:
        return Mount(prefix + self.path, self.app, name=self.name)

    def url_path(self, **params: Any) -> str:
        path = params.pop("path", "/")
        if params:
            raise ValueError(f"Mount {self.name!r} takes only a 'path' parameter")
        return self.path + "/" + str(path).lstrip("/")

    def __repr__(self) -> str:
        return f"Mount({self.path!r}, name={self.name!r})"


class Router:
    """A group of routes to include in an app, like a Flask blueprint or a FastAPI router::

    api = Router(prefix="/api", tags=["api"])

    @api.get("/items")
    async def items() -> list[str]: ...

    app.include_router(api)
    """

    def __init__(
        self,
        *,
        prefix: str = "",
        tags: Sequence[str] | None = None,
        dependencies: Sequence[Any] | None = None,
    ) -> None:
        if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
            raise ValueError(f"Router prefix {prefix!r} must start with '/' and not end with it")
        self.prefix = prefix
        self.tags = list(tags or ())
        self.dependencies = list(dependencies or ())
        self.routes: list[Route | WebSocketRoute | Mount] = []

    def _add(self, route: Route | WebSocketRoute | Mount) -> None:
        self.routes.append(route)

    def add_route(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        methods: Iterable[str] = ("GET",),
        **options: Unpack[RouteOptions],
    ) -> Route:
        route = Route(path, endpoint, methods=methods, **options)
        self._add(route)
        return route

    def route(
        self, path: str, *, methods: Iterable[str] = ("GET",), **options: Unpack[RouteOptions]
    ) -> Callable[[F], F]:
        """Register the decorated function for ``methods`` on ``path``."""

        def decorator(func: F) -> F:
            self.add_route(path, func, methods=methods, **options)
            return func

        return decorator

    def get(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        return self.route(path, methods=("GET",), **options)

    def post(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        return self.route(path, methods=("POST",), **options)

    def put(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        return self.route(path, methods=("PUT",), **options)

    def patch(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        return self.route(path, methods=("PATCH",), **options)

    def delete(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        return self.route(path, methods=("DELETE",), **options)

    def head(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        return self.route(path, methods=("HEAD",), **options)

    def options(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        return self.route(path, methods=("OPTIONS",), **options)

    def add_websocket_route(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        name: str | None = None,
        dependencies: Sequence[Any] | None = None,
    ) -> WebSocketRoute:
        route = WebSocketRoute(path, endpoint, name=name, dependencies=dependencies)
        self._add(route)
        return route

    def websocket(
        self, path: str, *, name: str | None = None, dependencies: Sequence[Any] | None = None
    ) -> Callable[[F], F]:
        """Register the decorated function as the WebSocket endpoint of ``path``."""

        def decorator(func: F) -> F:
            self.add_websocket_route(path, func, name=name, dependencies=dependencies)
            return func

        return decorator

    def mount(self, path: str, app: ASGIApp, *, name: str | None = None) -> None:
        """Serve any ASGI app under ``path`` (WSGI apps through ``plait.wsgi.WSGIMiddleware``)."""
        self._add(Mount(path, app, name=name))

    def static(
        self,
        path: str,
        directory: str | os.PathLike[str],
        *,
        name: str | None = None,
        html: bool = False,
        check_dir: bool = True,
        follow_symlinks: bool = False,
        cache_control: str | None = "public, max-age=3600",
    ) -> StaticFiles:
        """Serve the files under ``directory`` at ``path`` (see :class:`plait.StaticFiles`)::

        app.static("/static", "static", name="static")
        app.url_path_for("static", path="css/app.css")  # "/static/css/app.css"
        """
        files = StaticFiles(
            directory,
            html=html,
            check_dir=check_dir,
            follow_symlinks=follow_symlinks,
            cache_control=cache_control,
        )
        self.mount(path, files, name=name)
        return files

    def include_router(
        self,
        router: Router,
        *,
        prefix: str = "",
        tags: Sequence[str] | None = None,
        dependencies: Sequence[Any] | None = None,
    ) -> None:
        """Replay ``router``'s routes here under ``prefix`` + the router's own prefix."""
        if router is self:
            raise ValueError("A router cannot include itself")
        if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
            raise ValueError(f"Prefix {prefix!r} must start with '/' and not end with it")
        full_prefix = prefix + router.prefix
        all_tags = [*(tags or ()), *router.tags]
        all_deps = [*(dependencies or ()), *router.dependencies]
        for route in router.routes:
            self._add(route.copy_with(full_prefix, all_tags, all_deps))
