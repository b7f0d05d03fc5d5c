"""Route definitions, path parsing, and routers included with prefixes, tags and dependencies."""

from __future__ import annotations

from typing import Any

import pytest

from plait import App, Depends, JSONResponse, Request, Router, WebSocket
from plait._convertors import CONVERTORS
from plait._routing import Mount, Route, WebSocketRoute, parse_path
from plait.testing import TestClient
from plait.types import Receive, Scope, Send

# ------------------------------------------------------------------ parse_path


def test_parse_path_splits_static_and_parameter_segments() -> None:
    segments, params = parse_path("/items/{item_id:int}/tags/{tag}")
    assert segments == [
        "items",
        ("item_id", "int", CONVERTORS["int"]),
        "tags",
        ("tag", "str", CONVERTORS["str"]),
    ]
    assert params == {"item_id": CONVERTORS["int"], "tag": CONVERTORS["str"]}


def test_parse_path_root_and_trailing_slash() -> None:
    assert parse_path("/") == ([""], {})
    assert parse_path("/items/") == (["items", ""], {})


def test_parse_path_empty_convertor_name_means_str() -> None:
    _, params = parse_path("/{name:}")
    assert params == {"name": CONVERTORS["str"]}


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("items", "must start with '/'"),
        ("", "must start with '/'"),
        ("/items/id{x}", "must be a whole segment"),
        ("/items/{x}y", "must be a whole segment"),
        ("/items/{{x}}", "must be a whole segment"),
        ("/items/{x", "must be a whole segment"),
        ("/items/x}", "must be a whole segment"),
        ("/items/{}", "is not a valid parameter name"),
        ("/items/{1x}", "is not a valid parameter name"),
        ("/a/{x}/b/{x}", "appears twice"),
        ("/items/{x:bogus}", "unknown convertor 'bogus'"),
        ("/files/{rest:path}/more", "must come last"),
    ],
)
def test_parse_path_rejects_bad_templates(path: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_path(path)


def test_bad_path_is_refused_at_registration() -> None:
    app = App()
    with pytest.raises(ValueError, match="unknown convertor"):
        app.get("/x/{y:nope}")(lambda: None)
    assert app.routes == []


# ------------------------------------------------------------------ Route


def test_route_records_options() -> None:
    def handler() -> None: ...

    route = Route(
        "/things",
        handler,
        methods=["get", "post"],
        name="things",
        status_code=201,
        response_class=JSONResponse,
        response_model=dict,
        responses={404: {"description": "gone"}},
        tags=["t"],
        dependencies=["dep"],
        summary="Sum",
        description="Desc",
        deprecated=True,
        include_in_schema=False,
        operation_id="op",
    )
    assert route.methods == frozenset({"GET", "POST"})
    assert route.name == "things"
    assert route.status_code == 201
    assert route.response_class is JSONResponse
    assert route.response_model is dict
    assert route.responses == {404: {"description": "gone"}}
    assert route.tags == ["t"]
    assert route.dependencies == ["dep"]
    assert (route.summary, route.description, route.operation_id) == ("Sum", "Desc", "op")
    assert route.deprecated is True
    assert route.include_in_schema is False
    assert repr(route) == "Route('/things', methods=['GET', 'POST'], name='things')"


def test_route_defaults() -> None:
    def handler() -> None: ...

    route = Route("/", handler)
    assert route.methods == frozenset({"GET"})
    assert route.name == "handler"
    assert route.status_code is None
    assert route.tags == []
    assert route.deprecated is False
    assert route.include_in_schema is None  # documented, unless the route answers HTML


def test_route_needs_a_method() -> None:
    with pytest.raises(ValueError, match="at least one method"):
        Route("/", lambda: None, methods=[])


def test_websocket_route_and_mount_reprs() -> None:
    async def ws(websocket: WebSocket) -> None: ...

    assert repr(WebSocketRoute("/ws", ws)) == "WebSocketRoute('/ws', name='ws')"
    assert repr(Mount("/static/", _text_app("x"), name="static")) == (
        "Mount('/static', name='static')"
    )


def test_mount_url_path_takes_only_path() -> None:
    mount = Mount("/static", _text_app("x"), name="static")
    assert mount.url_path(path="css/site.css") == "/static/css/site.css"
    with pytest.raises(ValueError, match="only a 'path' parameter"):
        mount.url_path(path="x", other=1)


# ------------------------------------------------------------------ Router


def _text_app(text: str) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": f"{text}:{scope['root_path']}".encode()})

    return app


def test_router_only_records_until_included() -> None:
    router = Router(prefix="/api")

    @router.get("/items")
    def items() -> list[int]:
        return [1]

    assert [r.path for r in router.routes] == ["/items"]
    app = App()
    app.include_router(router)
    assert [r.path for r in app.routes] == ["/api/items"]
    # The router keeps its own, unprefixed record: it can be included again elsewhere.
    assert router.routes[0].path == "/items"


def test_router_with_every_decorator_and_prefix() -> None:
    router = Router(prefix="/api")
    for method in ("get", "post", "put", "patch", "delete", "options", "head"):

        async def handler(request: Request) -> str:
            return request.method

        getattr(router, method)(f"/{method}")(handler)

    @router.route("/both", methods=["GET", "PUT"])
    async def both(request: Request) -> str:
        return "both " + request.method

    app = App()
    app.include_router(router)
    with TestClient(app) as client:
        for method in ("get", "post", "put", "patch", "delete", "options"):
            response = client.request(method.upper(), f"/api/{method}")
            assert response.text == method.upper()
        assert client.head("/api/head").status_code == 200
        assert client.put("/api/both").text == "both PUT"
        assert client.get("/items").status_code == 404


def _recorder(calls: list[str], label: str) -> Depends:
    def dependency() -> None:
        calls.append(label)

    return Depends(dependency)


def test_nested_routers_combine_prefixes_tags_and_dependencies() -> None:
    calls: list[str] = []
    dep = {label: _recorder(calls, label) for label in ("leaf", "route", "middle", "inc", "app")}
    leaf = Router(prefix="/leaf", tags=["leaf"], dependencies=[dep["leaf"]])

    @leaf.get("/{item_id:int}", tags=["route", "leaf"], dependencies=[dep["route"]])
    def read(item_id: int) -> dict[str, int]:
        calls.append("handler")
        return {"item_id": item_id}

    middle = Router(prefix="/middle", tags=["middle"], dependencies=[dep["middle"]])
    middle.include_router(leaf, prefix="/v1", tags=["inc"], dependencies=[dep["inc"]])
    app = App(dependencies=[dep["app"]])
    app.include_router(middle, prefix="/api", tags=["top"])

    (route,) = app.routes
    assert isinstance(route, Route)
    assert route.path == "/api/middle/v1/leaf/{item_id:int}"
    assert route.tags == ["top", "middle", "inc", "leaf", "route"]
    assert route.dependencies == [dep["middle"], dep["inc"], dep["leaf"], dep["route"]]
    # The original route is untouched.
    assert leaf.routes[0].path == "/{item_id:int}"
    assert leaf.routes[0].tags == ["route", "leaf"]
    with TestClient(app) as client:
        assert client.get("/api/middle/v1/leaf/5").json() == {"item_id": 5}
        assert calls == ["app", "middle", "inc", "leaf", "route", "handler"]
        assert client.get("/api/middle/v1/leaf/x").status_code == 404


def test_router_root_route_under_a_prefix_ends_with_a_slash() -> None:
    router = Router(prefix="/items")

    @router.get("/")
    def index() -> str:
        return "index"

    app = App()
    app.include_router(router)
    with TestClient(app, follow_redirects=False) as client:
        assert client.get("/items/").text == "index"
        redirect = client.get("/items")
        assert redirect.status_code == 308
        assert redirect.headers["location"] == "/items/"


def test_router_websocket_and_mount_are_included_with_the_prefix() -> None:
    router = Router(prefix="/r")

    inner_dep, outer_dep = Depends(lambda: None), Depends(lambda: None)

    @router.websocket("/ws", name="sock", dependencies=[inner_dep])
    async def sock(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(websocket.scope["path"])
        await websocket.close()

    router.mount("/raw", _text_app("raw"), name="raw")
    app = App()
    app.include_router(router, prefix="/outer", dependencies=[outer_dep])
    ws_route, mount = app.routes
    assert isinstance(ws_route, WebSocketRoute)
    assert ws_route.path == "/outer/r/ws"
    assert ws_route.name == "sock"
    assert ws_route.dependencies == [outer_dep, inner_dep]
    assert isinstance(mount, Mount)
    assert mount.path == "/outer/r/raw"
    assert app.url_path_for("raw", path="a") == "/outer/r/raw/a"
    with TestClient(app) as client:
        assert client.get("/outer/r/raw/x").text == "raw:/outer/r/raw"
        with client.websocket_connect("/outer/r/ws") as ws:
            assert ws.receive_text() == "/outer/r/ws"


def test_router_add_websocket_route_directly() -> None:
    router = Router()

    async def sock(websocket: WebSocket) -> None: ...

    route = router.add_websocket_route("/ws", sock)
    assert route.name == "sock"
    assert router.routes == [route]


@pytest.mark.parametrize("prefix", ["api", "/api/"])
def test_router_prefix_must_start_and_not_end_with_a_slash(prefix: str) -> None:
    with pytest.raises(ValueError, match="must start with '/'"):
        Router(prefix=prefix)
    with pytest.raises(ValueError, match="must start with '/'"):
        App().include_router(Router(), prefix=prefix)


def test_router_cannot_include_itself() -> None:
    router = Router()
    with pytest.raises(ValueError, match="cannot include itself"):
        router.include_router(router)


def test_route_names_default_to_the_function_and_reverse_through_routers() -> None:
    router = Router(prefix="/users")

    @router.get("/{user_id:int}")
    def user_detail(user_id: int) -> int:
        return user_id

    @router.get("/me", name="me")
    def current() -> str:
        return "me"

    app = App()
    app.include_router(router)
    assert app.url_path_for("user_detail", user_id=9) == "/users/9"
    assert app.url_path_for("me") == "/users/me"
