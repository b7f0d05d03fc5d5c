"""The admin's static files for ``plait collectstatic`` (the ``plait.static`` entry point)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from plait.admin._checks import admin_prefixes

if TYPE_CHECKING:
    from plait._app import App

__all__ = ["static_folders"]

STATIC = Path(__file__).resolve().parent / "static"


def static_folders(app: App) -> list[tuple[str, Path]]:
    """(URL path, folder) of each admin's files: ``/admin/static`` serves ``admin.css``."""
    return [(f"{prefix.rstrip('/')}/static", STATIC) for prefix in admin_prefixes(app)]
