"""Which :class:`~plait.templates.Templates` renders the admin's pages, and its stylesheet.

With the app's templates (``Templates(app)``), the admin adds its package's ``templates/``
folder after the project's own directories: a project overrides ``admin/base.html``,
``admin/base_site.html`` or any other admin template by writing one with the same name, as in
Django. Without them, the admin renders with templates of its own over its package only, so
a project needs no templates directory to use the admin.
"""

from __future__ import annotations

import functools
import json
from importlib import resources

from jinja2 import PackageLoader

from plait import App
from plait.templates import Templates

__all__ = ["HTMX_VERSION", "PACKAGE", "STATIC", "admin_templates", "static_file", "stylesheet"]

PACKAGE = "plait.admin"


def admin_templates(app: App) -> Templates:
    """The app's templates with the admin's added (once), or the admin's own."""
    try:
        templates = Templates.of(app)
    except RuntimeError:
        # Not attached to the app: a later Templates(app) of the project is still allowed.
        # Strict: a name missing from the admin's own templates is a bug, not an empty string.
        return Templates(directory=(), packages=(PACKAGE,), strict_undefined=True)
    unescaped = [name for name in _names() if not _autoescaped(templates, name)]
    if unescaped:
        raise RuntimeError(
            f"plait.admin renders with the app's templates, which would not autoescape "
            f"{unescaped[0]!r}: the admin shows what users typed, so it needs escaping. Keep "
            "Templates(app, autoescape=True) (the default), or a callable that is true for "
            "'admin/' names"
        )
    if not any(
        isinstance(loader, PackageLoader) and loader.package_name == PACKAGE
        for loader in templates.loader.loaders
    ):
        templates.add_package(PACKAGE)
    return templates


@functools.cache
def _names() -> list[str]:
    return PackageLoader(PACKAGE).list_templates()


def _autoescaped(templates: Templates, name: str) -> bool:
    autoescape = templates.env.autoescape
    return bool(autoescape(name) if callable(autoescape) else autoescape)


STATIC = {
    "admin.css": "text/css",
    "admin.js": "text/javascript",
    "htmx.min.js": "text/javascript",
    "htmx-LICENSE": "text/plain; charset=utf-8",
}
"""The admin's static files (served under its prefix, no CDN) and their media types."""
_VENDORED = {"htmx.min.js": "htmx/htmx.min.js", "htmx-LICENSE": "htmx/LICENSE"}
"""Files from npm packages (``scripts/fetch_assets.py``): where they are in ``static/``."""


def _htmx_version() -> str:
    manifest = json.loads((resources.files(PACKAGE) / "static" / "manifest.json").read_text())
    return str(manifest["htmx.org"]["version"])


HTMX_VERSION = _htmx_version()
"""The htmx the admin ships (``static/manifest.json``): its URL carries it, ``?v=2.0.11``."""


@functools.cache
def static_file(name: str) -> bytes:
    """One of :data:`STATIC`, read from the package once."""
    return (resources.files(PACKAGE) / "static" / _VENDORED.get(name, name)).read_bytes()


def stylesheet() -> bytes:
    """The admin's stylesheet."""
    return static_file("admin.css")
