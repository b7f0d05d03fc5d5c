"""Which :class:`~plait.templates.Templates` renders the admin's pages, and its stylesheet.

With the app's templates (``Templates(app)``), the admin adds its package's ``templates/``
folder after the project's own directories: a project overrides ``admin/base.html``,
``admin/base_site.html`` or any other admin template by writing one with the same name, as in
Django. Without them, the admin renders with templates of its own over its package only, so
a project needs no templates directory to use the admin.
"""

from __future__ import annotations

import functools
from importlib import resources

from jinja2 import PackageLoader

from plait import App
from plait.templates import Templates

__all__ = ["PACKAGE", "admin_templates", "stylesheet"]

PACKAGE = "plait.admin"


def admin_templates(app: App) -> Templates:
    """The app's templates with the admin's added (once), or the admin's own."""
    try:
        templates = Templates.of(app)
    except RuntimeError:
        # Not attached to the app: a later Templates(app) of the project is still allowed.
        # Strict: a name missing from the admin's own templates is a bug, not an empty string.
        return Templates(directory=(), packages=(PACKAGE,), strict_undefined=True)
    if not any(
        isinstance(loader, PackageLoader) and loader.package_name == PACKAGE
        for loader in templates.loader.loaders
    ):
        templates.add_package(PACKAGE)
    return templates


@functools.cache
def stylesheet() -> bytes:
    """The admin's stylesheet, served under its prefix (no CDN)."""
    return (resources.files(PACKAGE) / "static" / "admin.css").read_bytes()
