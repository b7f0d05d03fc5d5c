from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, Response, redirect, request, stream_with_context, url_for

from plait import App
from plait.testing import TestClient, WebSocketDenied
from plait.wsgi import MissingDependencyError, WSGIMiddleware


def make_flask() -> Flask:
    legacy = Flask(__name__)

    @legacy.get("/hello")
    def hello() -> dict[str, Any]:
        return {
            "script_name": request.environ["SCRIPT_NAME"],
            "path_info": request.environ["PATH_INFO"],
            "query": request.args.get("q"),
            "url_for": url_for("hello"),
            "header": request.headers.get("X-Test"),
        }

    @legacy.post("/form")
    def form() -> dict[str, Any]:
        return {"name": request.form["name"], "tags": request.form.getlist("tag")}

    @legacy.get("/old")
    def old() -> Any:
        return redirect(url_for("hello"))

    @legacy.get("/cookie")
    def cookie() -> Response:
        response = Response("set", status=201)
        response.set_cookie("flavour", "oat")
        return response

    @legacy.get("/stream")
    def stream() -> Response:
        def chunks() -> Iterator[bytes]:
            for i in range(3):
                yield f"chunk {i};".encode()

        return Response(stream_with_context(chunks()), mimetype="text/plain")

    return legacy


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = App()

    @app.get("/")
    def index() -> str:
        return "plait"

    @app.get("/legacy-status")
    def status() -> dict[str, str]:
        return {"served_by": "plait"}

    app.mount("/legacy", WSGIMiddleware(make_flask()))
    with TestClient(app) as client:
        yield client


def test_get_with_script_name_and_path_info(client: TestClient) -> None:
    response = client.get("/legacy/hello", params={"q": "é"}, headers={"X-Test": "yes"})
    assert response.status_code == 200
    assert response.json() == {
        "script_name": "/legacy",
        "path_info": "/hello",
        "query": "é",
        "url_for": "/legacy/hello",
        "header": "yes",
    }


def test_post_form(client: TestClient) -> None:
    response = client.post("/legacy/form", data={"name": "Ada", "tag": ["a", "b"]})
    assert response.status_code == 200
    assert response.json() == {"name": "Ada", "tags": ["a", "b"]}


def test_large_post_body(client: TestClient) -> None:
    # Spans several ASGI body messages (the test client sends 64 KiB each).
    response = client.post("/legacy/form", data={"name": "x" * 300_000})
    assert response.json()["name"] == "x" * 300_000


def test_flask_redirects_stay_under_the_prefix(client: TestClient) -> None:
    response = client.get("/legacy/old", follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == "/legacy/hello"
    assert client.get("/legacy/old").json()["path_info"] == "/hello"


def test_status_headers_and_cookies_pass_through(client: TestClient) -> None:
    response = client.get("/legacy/cookie")
    assert response.status_code == 201
    assert response.text == "set"
    assert "flavour=oat" in response.headers["set-cookie"]


def test_streamed_wsgi_body(client: TestClient) -> None:
    assert client.get("/legacy/stream").text == "chunk 0;chunk 1;chunk 2;"


def test_flask_404_comes_from_flask(client: TestClient) -> None:
    response = client.get("/legacy/nope")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")


def test_plait_routes_beside_the_mount(client: TestClient) -> None:
    assert client.get("/").text == "plait"
    assert client.get("/legacy-status").json() == {"served_by": "plait"}
    plait_404 = client.get("/elsewhere")
    assert plait_404.status_code == 404
    assert plait_404.headers["content-type"] == "application/problem+json"


def test_websocket_to_a_wsgi_mount_is_refused(client: TestClient) -> None:
    with pytest.raises(WebSocketDenied), client.websocket_connect("/legacy/hello"):
        pass


def test_missing_a2wsgi_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "a2wsgi", None)  # makes "import a2wsgi" fail
    with pytest.raises(MissingDependencyError, match=r"pip install 'plait\[wsgi\]'") as info:
        WSGIMiddleware(make_flask())
    assert isinstance(info.value, ImportError)
