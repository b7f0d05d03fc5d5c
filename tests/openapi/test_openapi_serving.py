"""Serving the document and the docs pages: URLs, switches, assets, and no external host."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import pytest

from plait import App
from plait.openapi import _ui as ui
from plait.openapi import openapi_schema
from plait.testing import TestClient

ROOT = Path(__file__).resolve().parents[2]
ASSET_URL = re.compile(r'(?:src|href)="([^"]+)"')


def small_app(**options: Any) -> App:
    app = App(title="Small <Docs>", **options)

    @app.get("/items/{item_id:int}")
    async def get_item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    return app


def asset_urls(html: str) -> list[str]:
    urls = [url.replace("&amp;", "&") for url in ASSET_URL.findall(html)]
    return [url for url in urls if not url.startswith("data:")]


def test_openapi_json_is_the_generated_document() -> None:
    app = small_app()
    with TestClient(app) as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == openapi_schema(app)
    assert list(response.json()["paths"]) == ["/items/{item_id}"]


@pytest.mark.parametrize(
    ("page", "expected_assets"),
    [
        ("/docs", {"swagger-ui.css", "favicon-32x32.png", "swagger-ui-bundle.js"}),
        ("/redoc", {"redoc.standalone.js"}),
    ],
)
def test_docs_pages_load_their_assets_from_the_app(page: str, expected_assets: set[str]) -> None:
    with TestClient(small_app()) as client:
        response = client.get(page)
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        html = response.text
        assert "<title>Small &lt;Docs&gt; - " in html  # the title is escaped
        assert 'data-openapi-url="/openapi.json"' in html
        urls = asset_urls(html)
        names = {url.split("?")[0].rsplit("/", 1)[1] for url in urls}
        assert expected_assets < names  # plus our own start-up script
        assert not re.search(r"https?:|//[a-z]", html, re.IGNORECASE), "external reference"
        for url in urls:
            assert url.startswith(f"{page}/static/"), url
            asset = client.get(url)
            assert asset.status_code == 200, url
            assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert len(asset.content) > 0
            suffix = url.split("?")[0].rsplit(".", 1)[1]
            assert (
                asset.headers["content-type"]
                == {
                    "js": "text/javascript; charset=utf-8",
                    "css": "text/css; charset=utf-8",
                    "png": "image/png",
                }[suffix]
            ), url


def test_redoc_page_keeps_images_on_this_host() -> None:
    # ReDoc's footer would load Redocly's logo from their CDN.
    with TestClient(small_app()) as client:
        html = client.get("/redoc").text
    assert (
        '<meta http-equiv="Content-Security-Policy" content="img-src \'self\' data: blob:">' in html
    )


def test_asset_urls_carry_the_pinned_versions() -> None:
    manifest = json.loads((ui.STATIC_DIR / "manifest.json").read_text())
    with TestClient(small_app()) as client:
        swagger = client.get("/docs").text
        redoc = client.get("/redoc").text
    assert f"swagger-ui-bundle.js?v={manifest['swagger-ui-dist']['version']}" in swagger
    assert f"redoc.standalone.js?v={manifest['redoc']['version']}" in redoc


def test_init_scripts_start_the_uis() -> None:
    with TestClient(small_app()) as client:
        swagger = client.get("/docs/static/plait-swagger-ui.js").text
        redoc = client.get("/redoc/static/plait-redoc.js").text
    assert "SwaggerUIBundle({" in swagger
    assert "validatorUrl: null" in swagger  # Swagger UI would call its online validator
    assert "Redoc.init(" in redoc


def test_oauth2_redirect_page() -> None:
    with TestClient(small_app()) as client:
        page = client.get("/docs/oauth2-redirect")
        assert page.status_code == 200
        (script,) = asset_urls(page.text)
        assert script.startswith("/docs/static/oauth2-redirect.js?v=")
        assert client.get(script).status_code == 200
        docs = client.get("/docs").text
    assert 'data-oauth2-redirect-url="/docs/oauth2-redirect"' in docs


@pytest.mark.parametrize(
    "name", ["nope.js", "manifest.json", "..%2Fmanifest.json", "%2E%2E", "LICENSE.js"]
)
def test_only_listed_assets_are_served(name: str) -> None:
    with TestClient(small_app()) as client:
        response = client.get(f"/docs/static/{name}")
    assert response.status_code == 404


def test_licenses_are_shipped_and_served() -> None:
    with TestClient(small_app()) as client:
        swagger = client.get("/docs/static/LICENSE")
        redoc = client.get("/redoc/static/LICENSE")
    assert swagger.status_code == 200
    assert "Apache License" in swagger.text
    assert redoc.status_code == 200
    assert "MIT" in redoc.text


def test_custom_urls() -> None:
    app = small_app(openapi_url="/api/schema.json", docs_url="/api/docs", redoc_url="/api/redoc")
    with TestClient(app) as client:
        assert client.get("/api/schema.json").json()["info"]["title"] == "Small <Docs>"
        docs = client.get("/api/docs").text
        assert 'data-openapi-url="/api/schema.json"' in docs
        assert all(u.startswith("/api/docs/static/") for u in asset_urls(docs))
        assert client.get("/api/redoc").status_code == 200
        for old in ("/openapi.json", "/docs", "/redoc"):
            assert client.get(old).status_code == 404


def test_no_openapi_url_turns_everything_off() -> None:
    app = small_app(openapi_url=None)
    with TestClient(app) as client:
        for url in ("/openapi.json", "/docs", "/redoc", "/docs/static/swagger-ui.css"):
            assert client.get(url).status_code == 404, url
    assert [r.path for r in app.routes] == ["/items/{item_id:int}"]


def test_one_page_can_be_turned_off_and_its_url_reused() -> None:
    app = small_app(docs_url=None)

    @app.get("/docs")
    async def my_docs() -> str:
        return "my own docs"

    with TestClient(app) as client:
        assert client.get("/docs").text == "my own docs"
        assert client.get("/redoc").status_code == 200
        assert client.get("/openapi.json").status_code == 200
    assert "/docs" in openapi_schema(app)["paths"]


def test_a_user_route_on_a_docs_url_wins() -> None:
    # No need to turn the page off first: the user's own GET /docs is kept, the rest is added.
    app = small_app()

    @app.get("/docs")
    async def my_docs() -> str:
        return "my own docs"

    with TestClient(app) as client:
        assert client.get("/docs").text == "my own docs"
        assert client.get("/redoc").status_code == 200
        assert client.get("/openapi.json").status_code == 200


def test_docs_routes_are_named_and_not_documented() -> None:
    app = small_app()
    document = openapi_schema(app)  # builds the app
    assert app.url_path_for("plait.swagger_ui") == "/docs"
    assert app.url_path_for("plait.redoc_static", filename="redoc.standalone.js") == (
        "/redoc/static/redoc.standalone.js"
    )
    assert set(document["paths"]) == {"/items/{item_id}"}


def test_behind_a_root_path() -> None:
    app = small_app()
    with TestClient(app, root_path="/api") as client:
        docs = client.get("/docs").text
        assert 'data-openapi-url="/api/openapi.json"' in docs
        assert 'data-oauth2-redirect-url="/api/docs/oauth2-redirect"' in docs
        assert all(u.startswith("/api/docs/static/") for u in asset_urls(docs))
        assert 'data-openapi-url="/api/openapi.json"' in client.get("/redoc").text
        document = client.get("/openapi.json").json()
    assert document["servers"] == [{"url": "/api"}]
    assert list(document)[:3] == ["openapi", "info", "servers"]
    assert "servers" not in openapi_schema(app)  # the cached document is untouched


def test_missing_assets_answer_503_not_a_crash(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(ui, "STATIC_DIR", tmp_path)
    app = small_app()
    with TestClient(app) as client:
        for url in ("/docs", "/redoc", "/docs/oauth2-redirect", "/docs/static/swagger-ui.css"):
            response = client.get(url)
            assert response.status_code == 503, url
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["detail"] == (
                "Docs assets are not installed: run python scripts/fetch_assets.py"
            )
        # The document does not need the assets.
        assert client.get("/openapi.json").status_code == 200


def test_a_file_missing_from_the_manifest_counts_as_not_installed(tmp_path: Path) -> None:
    (tmp_path / "redoc").mkdir()
    manifest = {
        "redoc": {"version": "1.0.0", "directory": "redoc", "files": {"redoc.standalone.js": "x"}}
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    store = ui.redoc_store(tmp_path)
    assert not store.installed
    assert store.get("redoc.standalone.js") is None
    (tmp_path / "redoc" / "redoc.standalone.js").write_text("var Redoc;")
    fresh = ui.redoc_store(tmp_path)
    assert fresh.installed
    asset = fresh.get("redoc.standalone.js")
    assert asset is not None
    assert asset.body == b"var Redoc;"
    assert fresh.url("/redoc/static", "redoc.standalone.js") == (
        "/redoc/static/redoc.standalone.js?v=1.0.0"
    )


def _fetch_script() -> Any:
    spec = importlib.util.spec_from_file_location(
        "plait_fetch_assets", ROOT / "scripts" / "fetch_assets.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_assets_are_the_pinned_npm_files() -> None:
    """static/ holds exactly what scripts/fetch_assets.py copies, unmodified."""
    script = _fetch_script()
    manifest = json.loads((ui.STATIC_DIR / "manifest.json").read_text())
    assert set(manifest) == set(script.PACKAGES)
    for package, (version, folder, files) in script.PACKAGES.items():
        entry = manifest[package]
        assert (entry["version"], entry["directory"]) == (version, folder)
        assert entry["integrity"].startswith("sha512-")
        assert set(entry["files"]) == set(files.values())
        for name, digest in entry["files"].items():
            data = (ui.STATIC_DIR / folder / name).read_bytes()
            assert hashlib.sha256(data).hexdigest() == digest, f"{folder}/{name} was modified"
    shipped = {
        path.relative_to(ui.STATIC_DIR).as_posix()
        for path in ui.STATIC_DIR.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert shipped == {"manifest.json"} | {
        f"{folder}/{name}"
        for _, folder, files in script.PACKAGES.values()
        for name in files.values()
    }


def test_one_setting_turns_the_interactive_docs_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 12 finding 10: /docs, /redoc and /openapi.json are served by default (FastAPI's
    habit); PLAIT_API_DOCS=0 turns all three off without touching the code."""
    from plait import App
    from plait.testing import TestClient

    def make() -> App:
        app = App()

        @app.get("/items")
        async def items() -> list[str]:
            return []

        return app

    with TestClient(make()) as client:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert client.get(path).status_code == 200, path
    monkeypatch.setenv("PLAIT_API_DOCS", "0")
    with TestClient(make()) as client:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert client.get(path).status_code == 404, path
        assert client.get("/items").status_code == 200
