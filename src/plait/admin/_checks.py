"""The admin's deploy check: is it behind HTTPS?"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from plait._routing import Route
from plait._settings import Settings
from plait.checks import Check, Finding, https_only

if TYPE_CHECKING:
    from plait._app import App

__all__ = ["CHECKS", "admin_prefixes"]


def admin_prefixes(app: App) -> list[str]:
    from plait.admin._views import Views

    prefixes = set()
    for route in app.routes:
        owner = getattr(getattr(route, "endpoint", None), "__self__", None)
        if isinstance(route, Route) and isinstance(owner, Views):
            prefixes.add(route.path.partition("/{")[0].rstrip("/") or "/")
    return sorted(prefixes)


def _admin_https(app: App, settings: Settings) -> Iterator[Finding]:
    if https_only(app, settings):
        return
    for prefix in admin_prefixes(app):
        yield Finding(
            "admin.W001",
            "warning",
            f"The admin at {prefix}/ is served over plain HTTP: staff passwords and session "
            "cookies can be read on the way",
            "app.add_middleware(HTTPSRedirectMiddleware) (from plait.middleware), or serve the "
            "admin only through a TLS proxy and silence admin.W001",
        )


CHECKS = [Check(_admin_https, deploy=True)]
