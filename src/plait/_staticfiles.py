"""``StaticFiles``: an ASGI app serving the files under one directory, and nothing outside it."""

from __future__ import annotations

import os
import stat as stat_mode
from typing import NamedTuple

from plait._concurrency import run_in_threadpool
from plait._exceptions import HTTPException
from plait._fileresponse import FileResponse
from plait._responses import RedirectResponse, Response, problem_response, same_site_path
from plait.types import Receive, Scope, Send

__all__ = ["StaticFiles"]


class _Found(NamedTuple):
    path: str
    stat: os.stat_result
    is_index: bool


class StaticFiles:
    """Serve the files under ``directory``, with validators, Range requests and cache headers.

    Mount it (``app.static("/static", "static", name="static")`` does that for you)::

        app.mount("/static", StaticFiles("static"), name="static")

    Only GET and HEAD are allowed (405 otherwise). A path that leaves the directory — ``..``,
    a NUL byte, a backslash, or a symlink pointing outside when ``follow_symlinks`` is false —
    is a 404, as is a directory unless ``html=True``: then a directory serves its
    ``index.html`` (redirecting ``/docs`` to ``/docs/`` first) and a miss serves the top-level
    ``404.html`` if there is one. ``cache_control`` is sent with every file (``None`` to omit).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        html: bool = False,
        check_dir: bool = True,
        follow_symlinks: bool = False,
        cache_control: str | None = "public, max-age=3600",
    ) -> None:
        self.directory = os.path.abspath(directory)
        self.html = html
        self.follow_symlinks = follow_symlinks
        self.cache_control = cache_control
        if check_dir and not os.path.isdir(self.directory):
            raise RuntimeError(f"StaticFiles directory {os.fspath(directory)!r} does not exist")
        self._real_directory = os.path.realpath(self.directory)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1000, "reason": ""})
            return
        response = await self._respond(scope)
        await response(scope, receive, send)

    async def _respond(self, scope: Scope) -> Response:
        if scope["method"] not in ("GET", "HEAD"):
            return problem_response(HTTPException(405, headers={"Allow": "GET, HEAD"}))
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        parts = _safe_parts(path)
        if parts is None:
            return await self._not_found()
        found = await run_in_threadpool(self._lookup, parts)
        if found is None or (path.endswith("/") and not found.is_index):
            return await self._not_found()
        if found.is_index and not path.endswith("/"):
            return _redirect_to_slash(scope)
        return self._file(found.path, found.stat)

    def _file(self, path: str, result: os.stat_result, status_code: int = 200) -> FileResponse:
        headers = {"Cache-Control": self.cache_control} if self.cache_control else None
        return FileResponse(path, status_code=status_code, headers=headers, stat_result=result)

    async def _not_found(self) -> Response:
        if self.html:
            found = await run_in_threadpool(self._lookup, ["404.html"])
            if found is not None and not found.is_index:
                return self._file(found.path, found.stat, status_code=404)
        return problem_response(HTTPException(404))

    def _inside(self, path: str) -> bool:
        """Whether ``path`` (already free of ``..``) stays in the directory once resolved."""
        if self.follow_symlinks:
            return True
        real = os.path.realpath(path)
        return os.path.commonpath([real, self._real_directory]) == self._real_directory

    def _stat(self, path: str) -> os.stat_result | None:
        if not self._inside(path):
            return None
        try:
            return os.stat(path)
        except (OSError, ValueError):  # missing, unreadable, a name too long or refused
            return None

    def _lookup(self, parts: list[str]) -> _Found | None:
        """Blocking: find the file ``parts`` names (a directory's index.html with ``html``)."""
        path = os.path.join(self.directory, *parts)
        result = self._stat(path)
        if result is None:
            return None
        if stat_mode.S_ISREG(result.st_mode):
            return _Found(path, result, is_index=False)
        if self.html and stat_mode.S_ISDIR(result.st_mode):
            index = os.path.join(path, "index.html")
            index_stat = self._stat(index)
            if index_stat is not None and stat_mode.S_ISREG(index_stat.st_mode):
                return _Found(index, index_stat, is_index=True)
        return None


def _safe_parts(path: str) -> list[str] | None:
    """The path's segments, or ``None`` if any could step outside the directory."""
    if "\0" in path or "\\" in path:
        return None
    parts = [part for part in path.split("/") if part and part != "."]
    if ".." in parts or (os.name == "nt" and any(":" in part for part in parts)):
        return None  # on Windows "C:x" would leave the directory too
    return parts


def _redirect_to_slash(scope: Scope) -> Response:
    target = same_site_path(scope["path"] + "/")
    query: bytes = scope.get("query_string", b"")
    if query:
        target += "?" + query.decode("latin-1")
    return RedirectResponse(target)
