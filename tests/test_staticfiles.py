from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _docs import DOCS, run_page
from plait import App, StaticFiles
from plait.testing import TestClient
from plait.types import Message, Scope

CSS = b"body { color: rebeccapurple }\n"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """tmp_path/secret.txt beside tmp_path/static/{css/app.css, docs/index.html, ...}."""
    (tmp_path / "secret.txt").write_text("top secret")
    static = tmp_path / "static"
    (static / "css").mkdir(parents=True)
    (static / "css" / "app.css").write_bytes(CSS)
    (static / "docs").mkdir()
    (static / "docs" / "index.html").write_text("<h1>docs</h1>")
    (static / "empty").mkdir()
    (static / "index.html").write_text("<h1>home</h1>")
    (static / "404.html").write_text("<h1>lost</h1>")
    (static / "%2e%2e").write_text("a file with an odd name")
    return static


def make_app(directory: Path, **options: Any) -> App:
    app = App()

    @app.get("/")
    def index() -> str:
        return "plait"

    app.static("/static", directory, name="static", **options)
    return app


@pytest.fixture
def client(site: Path) -> Iterator[TestClient]:
    with TestClient(make_app(site)) as client:
        yield client


def call(app: Any, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """Send a raw ASGI request, with ``path`` exactly as given (no client-side normalising)."""
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("utf-8", "surrogateescape"),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
    }
    sent: list[Message] = []

    async def receive() -> Message:
        await asyncio.sleep(10)
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    async def scenario() -> None:
        if isinstance(app, App):
            app.build()
        await app(scope, receive, send)

    asyncio.run(scenario())
    headers = {k.decode(): v.decode() for k, v in sent[0].get("headers", [])}
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return sent[0]["status"], headers, body


# -- serving files


def test_serves_a_file_with_cache_headers(client: TestClient) -> None:
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert response.content == CSS
    assert response.headers["content-type"] == "text/css; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=3600"
    assert response.headers["content-length"] == str(len(CSS))
    assert "etag" in response.headers
    assert "last-modified" in response.headers
    assert "content-disposition" not in response.headers


def test_conditional_and_range_requests(client: TestClient) -> None:
    etag = client.get("/static/css/app.css").headers["etag"]
    not_modified = client.get("/static/css/app.css", headers={"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["cache-control"] == "public, max-age=3600"
    partial = client.get("/static/css/app.css", headers={"Range": "bytes=0-3"})
    assert partial.status_code == 206
    assert partial.content == CSS[:4]


def test_head(client: TestClient) -> None:
    response = client.head("/static/css/app.css")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == str(len(CSS))


def test_plait_routes_still_served(client: TestClient) -> None:
    assert client.get("/").text == "plait"


def test_url_path_for(site: Path) -> None:
    app = make_app(site)
    assert app.url_path_for("static", path="css/app.css") == "/static/css/app.css"
    assert app.url_path_for("static", path="/css/app.css") == "/static/css/app.css"


def test_cache_control_is_configurable(site: Path) -> None:
    with TestClient(make_app(site, cache_control=None)) as client:
        assert "cache-control" not in client.get("/static/css/app.css").headers
    with TestClient(make_app(site, cache_control="no-cache")) as client:
        assert client.get("/static/css/app.css").headers["cache-control"] == "no-cache"


def test_standalone_app_and_root_path(site: Path) -> None:
    with TestClient(StaticFiles(site)) as client:
        assert client.get("/css/app.css").content == CSS
    with TestClient(make_app(site), root_path="/prefix") as client:
        assert client.get("/static/css/app.css").content == CSS


def test_percent_signs_in_the_decoded_path_are_literal(site: Path) -> None:
    # A server decodes "/static/%252e%252e" once, into the literal name "%2e%2e": a file
    # called that is served, and it is not read as a parent directory.
    status, _, body = call(make_app(site), "/static/%2e%2e")
    assert (status, body) == (200, b"a file with an odd name")


# -- misses and refusals


def problem_404(response: Any) -> None:
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "path",
    [
        "/static/nope.css",
        "/static/css",  # a directory, and html is off
        "/static/css/",
        "/static/docs/",
        "/static/",
        "/static/css/app.css/",  # a file is not a directory
        "/static/css/app.css/x",
    ],
)
def test_misses_are_404(client: TestClient, path: str) -> None:
    problem_404(client.get(path))


@pytest.mark.parametrize(
    "path",
    [
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2E%2E/secret.txt",
        "/static/..%2fsecret.txt",
        "/static/css/../../secret.txt",
        "/static/css/%2e%2e/%2e%2e/secret.txt",
        "/static/%2e%2e%5csecret.txt",
        "/static/..%5csecret.txt",
        "/static/secret.txt%00.css",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
        "/static/../pyproject.toml",
    ],
)
@pytest.mark.parametrize("follow_symlinks", [False, True])
def test_traversal_through_the_client_is_refused(
    site: Path, path: str, follow_symlinks: bool
) -> None:
    with TestClient(make_app(site, follow_symlinks=follow_symlinks)) as client:
        response = client.get(path)
    assert response.status_code == 404
    assert b"top secret" not in response.content
    assert b"root:" not in response.content


@pytest.mark.parametrize(
    "path",
    [
        "/static/../secret.txt",
        "/static/./../secret.txt",
        "/static/css/../../secret.txt",
        "/static/..",
        "/static/..\\secret.txt",
        "/static/css\\..\\..\\secret.txt",
        "/static/secret.txt\x00.css",
        "/static//" + str(Path(__file__).resolve()).lstrip("/"),
    ],
)
@pytest.mark.parametrize("follow_symlinks", [False, True])
def test_raw_traversal_is_refused(site: Path, path: str, follow_symlinks: bool) -> None:
    status, headers, body = call(make_app(site, follow_symlinks=follow_symlinks), path)
    assert status == 404
    assert headers["content-type"] == "application/problem+json"
    assert b"top secret" not in body


def test_absolute_path_stays_inside(site: Path) -> None:
    # An absolute-looking path is read relative to the directory, never from the root.
    status, _, body = call(make_app(site), "/static//css/app.css")
    assert (status, body) == (200, CSS)


def test_symlinks_escaping_the_directory(site: Path) -> None:
    (site / "leak.txt").symlink_to(site.parent / "secret.txt")
    (site / "outside").symlink_to(site.parent, target_is_directory=True)
    (site / "inside.css").symlink_to(site / "css" / "app.css")
    with TestClient(make_app(site)) as client:
        problem_404(client.get("/static/leak.txt"))
        problem_404(client.get("/static/outside/secret.txt"))
        assert client.get("/static/inside.css").content == CSS  # stays inside: fine
    with TestClient(make_app(site, follow_symlinks=True)) as client:
        assert client.get("/static/leak.txt").text == "top secret"
        assert client.get("/static/outside/secret.txt").text == "top secret"


def test_symlinked_directory_itself_is_allowed(site: Path, tmp_path: Path) -> None:
    link = tmp_path / "link-to-static"
    link.symlink_to(site, target_is_directory=True)
    with TestClient(make_app(link)) as client:
        assert client.get("/static/css/app.css").content == CSS


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_is_404(site: Path) -> None:
    (site / "private.css").write_text("x")
    (site / "private.css").chmod(0)
    with TestClient(make_app(site)) as client:
        assert client.get("/static/private.css").status_code == 404


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_are_405(client: TestClient, method: str) -> None:
    response = client.request(method, "/static/css/app.css")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


def test_websocket_is_refused(client: TestClient) -> None:
    from plait.testing import WebSocketDenied

    with pytest.raises(WebSocketDenied), client.websocket_connect("/static/css/app.css"):
        pass


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="does not exist"):
        StaticFiles(tmp_path / "nope")
    files = StaticFiles(tmp_path / "nope", check_dir=False)
    assert call(files, "/x.css")[0] == 404


# -- html mode


@pytest.fixture
def html_client(site: Path) -> Iterator[TestClient]:
    with TestClient(make_app(site, html=True), follow_redirects=False) as client:
        yield client


def test_html_serves_index_files(html_client: TestClient) -> None:
    assert html_client.get("/static/").text == "<h1>home</h1>"
    response = html_client.get("/static/docs/")
    assert response.text == "<h1>docs</h1>"
    assert response.headers["content-type"] == "text/html; charset=utf-8"


def test_html_redirects_directories_to_a_trailing_slash(html_client: TestClient) -> None:
    response = html_client.get("/static/docs", params={"page": "2"})
    assert response.status_code == 307
    assert response.headers["location"] == "/static/docs/?page=2"
    assert html_client.get("/static").headers["location"] == "/static/"


def test_html_serves_404_page(html_client: TestClient) -> None:
    for path in ["/static/nope.html", "/static/empty/", "/static/%2e%2e/secret.txt"]:
        response = html_client.get(path)
        assert response.status_code == 404
        assert response.text == "<h1>lost</h1>"
        assert response.headers["content-type"] == "text/html; charset=utf-8"


def test_html_without_404_page(site: Path) -> None:
    (site / "404.html").unlink()
    with TestClient(make_app(site, html=True)) as client:
        problem_404(client.get("/static/nope.html"))


# -- the docs page's examples run (tests/_docs.py)


def test_docs_page_examples_run() -> None:
    ran = run_page(DOCS / "static-files.md")
    assert ran.blocks >= 2
    assert ran.tests >= 2
