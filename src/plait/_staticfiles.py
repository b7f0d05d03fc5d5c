"""``StaticFiles``: an ASGI app serving the files under one directory, and nothing outside it."""

from __future__ import annotations

import json
import os
import stat as stat_mode
from mimetypes import guess_type
from typing import Any, NamedTuple

from plait._concurrency import run_in_threadpool
from plait._exceptions import HTTPException
from plait._fileresponse import FileResponse
from plait._responses import RedirectResponse, Response, problem_response, same_site_path
from plait.types import Receive, Scope, Send

__all__ = [
    "IMMUTABLE",
    "MANIFEST",
    "StaticFiles",
    "read_manifest",
]

MANIFEST = "staticfiles.json"
"""The manifest ``plait collectstatic`` writes in each collected folder: source name ->
content-hashed name."""
IMMUTABLE = "public, max-age=31536000, immutable"
"""``Cache-Control`` of a content-hashed file: it never changes under its name."""
# Precompressed twins a client may take instead of the file, best first.
_ENCODINGS = (("br", ".br"), ("gzip", ".gz"))
_REFUSED = frozenset({"q=0", "q=0.0", "q=0.00", "q=0.000"})


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
        self.manifest: dict[str, str] = {}
        """Source name -> content-hashed name, once :meth:`use_collected` was called."""
        self._hashed: frozenset[str] = frozenset()

    def use_collected(self, directory: str | os.PathLike[str]) -> None:
        """Serve the files ``plait collectstatic`` gathered into ``directory`` instead of the
        sources: hashed names (from its manifest) with ``Cache-Control: immutable``, and
        precompressed ``.br``/``.gz`` twins to clients that accept them."""
        self.manifest = read_manifest(directory)
        self._hashed = frozenset(self.manifest.values())
        self.directory = os.path.abspath(directory)
        self._real_directory = os.path.realpath(self.directory)

    def url_name(self, path: str) -> str:
        """The name to put in a URL for the file ``path``: its hashed name when collected."""
        return self.manifest.get(path.lstrip("/"), path)

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
        immutable = "/".join(parts) in self._hashed
        return await run_in_threadpool(self._variant, scope, found, immutable)

    def _variant(self, scope: Scope, found: _Found, immutable: bool) -> FileResponse:
        """Blocking: the file, or its precompressed twin when the client accepts it."""
        accepted = _accepted_encodings(scope)
        response = None
        vary = False
        for encoding, suffix in _ENCODINGS:
            twin = found.path + suffix
            twin_stat = self._stat(twin)
            if twin_stat is None or not stat_mode.S_ISREG(twin_stat.st_mode):
                continue
            vary = True
            if response is None and encoding in accepted:
                media_type = guess_type(found.path)[0] or "application/octet-stream"
                response = self._file(twin, twin_stat, media_type=media_type, immutable=immutable)
                response.headers["content-encoding"] = encoding
        if response is None:
            response = self._file(found.path, found.stat, immutable=immutable)
        if vary:
            response.headers["vary"] = "Accept-Encoding"
        return response

    def _file(
        self,
        path: str,
        result: os.stat_result,
        status_code: int = 200,
        *,
        media_type: str | None = None,
        immutable: bool = False,
    ) -> FileResponse:
        cache_control = IMMUTABLE if immutable else self.cache_control
        headers = {"Cache-Control": cache_control} if cache_control else None
        return FileResponse(
            path,
            status_code=status_code,
            headers=headers,
            media_type=media_type,
            stat_result=result,
        )

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


def _accepted_encodings(scope: Scope) -> set[str]:
    """The content codings of ``Accept-Encoding`` (without those refused with ``q=0``)."""
    accepted = set()
    for name, value in scope["headers"]:
        if name == b"accept-encoding":
            for part in value.decode("latin-1").split(","):
                token, _, params = part.partition(";")
                if params.replace(" ", "").lower() not in _REFUSED:
                    accepted.add(token.strip().lower())
    return accepted


def read_manifest(directory: str | os.PathLike[str]) -> dict[str, str]:
    """The manifest ``plait collectstatic`` wrote in ``directory`` (source -> hashed name)."""
    with open(os.path.join(directory, MANIFEST), encoding="utf-8") as file:
        data: Any = json.load(file)
    paths = data.get("paths") if isinstance(data, dict) else None
    if not isinstance(paths, dict) or not all(isinstance(v, str) for v in paths.values()):
        raise RuntimeError(f"{os.path.join(directory, MANIFEST)} is not a static files manifest")
    return dict(paths)
