"""The Swagger UI and ReDoc pages, and the vendored assets they load from the app itself.

The assets are copied from the npm packages by ``scripts/fetch_assets.py`` into ``static/``,
with a ``manifest.json`` listing versions and files. Pages never point at another host, and
start their UI from a small script of ours (no inline script, so a strict
``Content-Security-Policy: script-src 'self'`` still works).
"""

from __future__ import annotations

import dataclasses
import json
from html import escape
from pathlib import Path
from typing import Any

from plait.__about__ import __version__

__all__ = [
    "MISSING_ASSETS",
    "STATIC_DIR",
    "Asset",
    "AssetStore",
    "oauth2_redirect_html",
    "redoc_html",
    "redoc_store",
    "swagger_store",
    "swagger_ui_html",
]

STATIC_DIR = Path(__file__).resolve().parent / "static"
MISSING_ASSETS = "Docs assets are not installed: run python scripts/fetch_assets.py"

_MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
}

# Our own start-up scripts: they read their settings from data- attributes of the page.
_SWAGGER_INIT = """\
(function () {
  var node = document.getElementById("swagger-ui");
  var absolute = function (url) { return new URL(url, window.location.href).href; };
  window.ui = SwaggerUIBundle({
    url: node.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    oauth2RedirectUrl: absolute(node.dataset.oauth2RedirectUrl),
    showExtensions: true,
    showCommonExtensions: true
  });
})();
"""
_REDOC_INIT = """\
(function () {
  var node = document.getElementById("redoc");
  Redoc.init(node.dataset.openapiUrl, {}, node);
})();
"""


@dataclasses.dataclass(slots=True, eq=False)
class Asset:
    """One file served under a docs page's ``static/`` URL."""

    body: bytes
    media_type: str
    version: str


class AssetStore:
    """The files of one UI (``swagger-ui`` or ``redoc``), read once and kept in memory.

    ``version`` is None when the assets are not installed (no manifest, or a file missing).
    """

    def __init__(self, package: str, init_name: str, init_script: str, root: Path) -> None:
        self.package = package
        self.root = root
        self.init_name = init_name
        self._init = Asset(init_script.encode(), _MEDIA_TYPES[".js"], __version__)
        self._files: dict[str, Path] | None = None
        self.version: str | None = None
        self._loaded: dict[str, Asset] = {}

    def _scan(self) -> dict[str, Path]:
        if self._files is None:
            self._files = {}
            entry = _manifest(self.root).get(self.package)
            if isinstance(entry, dict):
                folder = self.root / entry["directory"]
                files = {name: folder / name for name in entry["files"]}
                if all(path.is_file() for path in files.values()):
                    self._files = files
                    self.version = str(entry["version"])
        return self._files

    @property
    def installed(self) -> bool:
        return bool(self._scan())

    def url(self, static_url: str, name: str) -> str:
        """The URL of asset ``name``, versioned so it can be cached for a year."""
        version = __version__ if name == self.init_name else self.version
        return f"{static_url}/{name}?v={version}"

    def get(self, name: str) -> Asset | None:
        """The asset called ``name``, or None if there is no such file."""
        if name == self.init_name:
            return self._init
        asset = self._loaded.get(name)
        if asset is None:
            path = self._scan().get(name)
            if path is None or self.version is None:
                return None
            media_type = _MEDIA_TYPES.get(path.suffix, "text/plain; charset=utf-8")
            asset = self._loaded[name] = Asset(path.read_bytes(), media_type, self.version)
        return asset


def _manifest(root: Path) -> dict[str, Any]:
    try:
        data = json.loads((root / "manifest.json").read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def swagger_store(root: Path | None = None) -> AssetStore:
    """Swagger UI's files (from ``STATIC_DIR`` unless told otherwise)."""
    return AssetStore("swagger-ui-dist", "plait-swagger-ui.js", _SWAGGER_INIT, root or STATIC_DIR)


def redoc_store(root: Path | None = None) -> AssetStore:
    """ReDoc's files (from ``STATIC_DIR`` unless told otherwise)."""
    return AssetStore("redoc", "plait-redoc.js", _REDOC_INIT, root or STATIC_DIR)


def _page(title: str, head: str, body: str) -> str:
    return (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n{head}</head>\n<body>\n{body}</body>\n</html>\n"
    )


def swagger_ui_html(
    *, title: str, openapi_url: str, static_url: str, oauth2_redirect_url: str, store: AssetStore
) -> str:
    """The Swagger UI page for the document at ``openapi_url``."""
    head = (
        f'<link rel="stylesheet" href="{escape(store.url(static_url, "swagger-ui.css"))}">\n'
        f'<link rel="icon" type="image/png" '
        f'href="{escape(store.url(static_url, "favicon-32x32.png"))}">\n'
    )
    body = (
        f'<div id="swagger-ui" data-openapi-url="{escape(openapi_url)}" '
        f'data-oauth2-redirect-url="{escape(oauth2_redirect_url)}"></div>\n'
        f'<script src="{escape(store.url(static_url, "swagger-ui-bundle.js"))}"></script>\n'
        f'<script src="{escape(store.url(static_url, store.init_name))}"></script>\n'
    )
    return _page(f"{title} - Swagger UI", head, body)


def oauth2_redirect_html(*, static_url: str, store: AssetStore) -> str:
    """The page an OAuth2 server redirects to after Swagger UI's "Authorize"."""
    script = escape(store.url(static_url, "oauth2-redirect.js"))
    return _page("Swagger UI: OAuth2 Redirect", "", f'<script src="{script}"></script>\n')


def redoc_html(*, title: str, openapi_url: str, static_url: str, store: AssetStore) -> str:
    """The ReDoc page for the document at ``openapi_url``."""
    body = (
        f'<div id="redoc" data-openapi-url="{escape(openapi_url)}"></div>\n'
        f'<script src="{escape(store.url(static_url, "redoc.standalone.js"))}"></script>\n'
        f'<script src="{escape(store.url(static_url, store.init_name))}"></script>\n'
    )
    # ReDoc 2's sidebar footer loads Redocly's logo from their CDN: images stay on this host.
    head = (
        '<meta http-equiv="Content-Security-Policy" content="img-src \'self\' data: blob:">\n'
        '<link rel="icon" href="data:,">\n'
    )
    return _page(f"{title} - ReDoc", head, body)
