"""Static files collected by ``plait collectstatic``: the mounts they belong to, the folders
they are collected into, and the hashed URLs they are served at."""

from __future__ import annotations

import os
from typing import Any

from plait._routing import Mount, Router
from plait._staticfiles import MANIFEST, StaticFiles

__all__ = ["collected_directory", "static_mounts", "static_url", "use_collected_static"]


def static_mounts(router: Router) -> dict[str, StaticFiles]:
    """The router's StaticFiles apps by the path they are mounted at (``"/static"``)."""
    return {
        route.path: route.app
        for route in router.routes
        if isinstance(route, Mount) and isinstance(route.app, StaticFiles)
    }


def collected_directory(root: str | os.PathLike[str], mount_path: str) -> str:
    """Where ``plait collectstatic`` puts the files of the mount at ``mount_path``."""
    return os.path.join(root, *[part for part in mount_path.split("/") if part])


def use_collected_static(router: Router, root: str | os.PathLike[str]) -> list[str]:
    """Serve every static mount from its collected folder under ``root``, when there is one
    (``App`` calls it at start-up with DEBUG off and the ``STATIC_ROOT`` setting); return the
    mount paths switched."""
    switched = []
    for mount_path, files in static_mounts(router).items():
        collected = collected_directory(root, mount_path)
        if os.path.isfile(os.path.join(collected, MANIFEST)):
            files.use_collected(collected)
            switched.append(mount_path)
    return switched


def static_url(app: Any, path: str, *, name: str = "static") -> str:
    """The URL path of the static file ``path`` under the mount called ``name``: its
    content-hashed name once collected (``/static/css/app.3f2a9c1b7e4d.css``), else the
    plain one (``/static/css/app.css``). ``app`` is the :class:`~plait.App` (typed ``Any``:
    this layer sits below the app's)."""
    for route in app.routes:
        if isinstance(route, Mount) and route.name == name and isinstance(route.app, StaticFiles):
            path = route.app.url_name(path)
            break
    url: str = app.url_path_for(name, path=path)
    return url
