"""The docs pages' files for ``plait collectstatic`` (the ``plait.static`` entry point)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from plait._settings import Settings
from plait.openapi._ui import STATIC_DIR

if TYPE_CHECKING:
    from plait._app import App

__all__ = ["static_folders"]


def static_folders(app: App) -> list[tuple[str, Path]]:
    """(URL path, folder) of the Swagger UI and ReDoc files the app serves, if it does."""
    if app.openapi_url is None or not Settings.load(check=False).API_DOCS:
        return []
    folders = []
    if app.docs_url is not None:
        folders.append((f"{app.docs_url.rstrip('/')}/static", STATIC_DIR / "swagger-ui"))
    if app.redoc_url is not None:
        folders.append((f"{app.redoc_url.rstrip('/')}/static", STATIC_DIR / "redoc"))
    return folders
