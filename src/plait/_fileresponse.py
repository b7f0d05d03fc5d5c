"""``FileResponse``: a file streamed from disk, with validators, conditional and Range requests.

Deciding what to send (preconditions, Range parsing) is pure and does no IO. Only ``stat``,
``open`` and the reads touch the disk, each in the thread pool, so a large file neither blocks
the event loop nor sits in memory whole.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import stat as stat_mode
from collections.abc import Coroutine, Mapping
from email.utils import formatdate, parsedate_to_datetime
from mimetypes import guess_type
from typing import IO, Any, Literal
from urllib.parse import quote

from plait._background import BackgroundTask
from plait._concurrency import run_in_threadpool
from plait._datastructures import Headers
from plait._exceptions import HTTPException
from plait._responses import Response, problem_response
from plait.types import Message, Receive, Scope, Send

__all__ = ["FileResponse", "content_disposition", "parse_range"]

CHUNK_SIZE = 64 * 1024
MAX_RANGES = 32
"""A Range header with more parts than this is ignored (the whole file is sent instead)."""

_PATHSEND = "http.response.pathsend"
_RANGE_SPEC = re.compile(r"\s*(\d*)\s*-\s*(\d*)\s*", re.ASCII)
_ENTITY_TAG = re.compile(r'(?:W/)?"[^"]*"')
# Headers a 304 keeps (RFC 9110 §15.4.5); the rest describe a body that is not sent.
_NOT_MODIFIED_KEEP = frozenset(
    {
        b"cache-control",
        b"content-location",
        b"date",
        b"etag",
        b"expires",
        b"vary",
        b"last-modified",
        b"set-cookie",
    }
)


def parse_range(header: str, size: int) -> list[tuple[int, int]] | None:
    """Parse a ``Range`` header against a file of ``size`` bytes (RFC 9110 §14.2).

    Returns the satisfiable ranges as sorted, merged ``(start, end_exclusive)`` pairs; an
    empty list when none is satisfiable (answer 416); ``None`` when the header is malformed,
    names another unit or has too many parts — such a header is ignored (answer 200).
    """
    unit, sep, specs = header.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    parts = [part for part in specs.split(",") if part.strip()]
    if not parts or len(parts) > MAX_RANGES:
        return None
    ranges: list[tuple[int, int]] = []
    for part in parts:
        match = _RANGE_SPEC.fullmatch(part)
        if match is None:
            return None
        first, last = match.groups()
        try:
            if first:
                start = int(first)
                if last and int(last) < start:
                    return None
                if start < size:
                    ranges.append((start, min(int(last) + 1, size) if last else size))
            elif last:
                suffix = int(last)
                if suffix and size:
                    ranges.append((max(size - suffix, 0), size))
            else:
                return None
        except ValueError:  # more digits than int() accepts
            return None
    return _merge(ranges)


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def content_disposition(disposition_type: str, filename: str) -> str:
    """``attachment; filename="…"``, plus an RFC 5987 ``filename*`` for non-ASCII names."""
    fallback = "".join(c if " " <= c < "\x7f" and c not in '"\\' else "_" for c in filename)
    value = f'{disposition_type}; filename="{fallback}"'
    if fallback != filename:
        value += "; filename*=UTF-8''" + quote(filename, safe="!#$&+-.^_`|~")
    return value


def _parse_date(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(parsedate_to_datetime(value).timestamp())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _etag_matches(header: str, etag: str, *, weak: bool) -> bool:
    """Whether any entity-tag in ``header`` matches ``etag`` (``*`` matches any)."""
    if header.strip() == "*":
        return True
    for tag in _ENTITY_TAG.findall(header):
        if weak:
            if tag.removeprefix("W/") == etag.removeprefix("W/"):
                return True
        elif tag == etag and not tag.startswith("W/"):
            return True
    return False


def evaluate_preconditions(
    headers: Headers, etag: str | None, last_modified: int, method: str
) -> int | None:
    """RFC 9110 §13.2.2, in its order: 412, 304, or ``None`` to go on."""
    if_match = headers.get("if-match")
    if if_match is not None:
        if etag is None or not _etag_matches(if_match, etag, weak=False):
            return 412
    else:
        since = _parse_date(headers.get("if-unmodified-since"))
        if since is not None and last_modified > since:
            return 412
    safe = method in ("GET", "HEAD")
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        if etag is not None and _etag_matches(if_none_match, etag, weak=True):
            return 304 if safe else 412
    elif safe:
        since = _parse_date(headers.get("if-modified-since"))
        if since is not None and last_modified <= since:
            return 304
    return None


def _if_range_holds(value: str, etag: str | None, last_modified: int) -> bool:
    value = value.strip()
    if value.startswith('"'):
        return value == etag  # a strong comparison; weak tags never match
    if value.startswith("W/"):
        return False
    return _parse_date(value) == last_modified


def _stat_file(path: str | os.PathLike[str]) -> os.stat_result | None:
    try:
        result = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return result if stat_mode.S_ISREG(result.st_mode) else None


def _open(path: str | os.PathLike[str]) -> IO[bytes] | None:
    try:
        return open(path, "rb")  # closed by the caller, in the pool too
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def _read_file(path: str | os.PathLike[str], offset: int, size: int) -> bytes | None:
    try:
        with open(path, "rb") as file:
            file.seek(offset)
            return file.read(size)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def _read_at(file: IO[bytes], offset: int, size: int) -> bytes:
    file.seek(offset)
    return file.read(size)


async def _wait_for_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _until_disconnect(body: Coroutine[Any, Any, None], receive: Receive) -> None:
    """Run ``body``, stopping it if the client goes away first (servers may drop our sends)."""
    sending = asyncio.ensure_future(body)
    watcher = asyncio.ensure_future(_wait_for_disconnect(receive))
    try:
        await asyncio.wait({sending, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        sending.cancel()
        watcher.cancel()
        await asyncio.wait({sending, watcher})
    if not watcher.cancelled():
        watcher.exception()  # retrieved, so asyncio does not log it
    if not sending.cancelled():
        sending.result()


class FileResponse(Response):
    """Stream a file from disk, in 64 KiB chunks read in the thread pool.

    Sends ``Content-Length``, ``Last-Modified``, a strong ``ETag`` (from the modification
    time and size, as nginx does) and ``Accept-Ranges``; answers ``If-None-Match`` /
    ``If-Modified-Since`` with 304, ``If-Match`` / ``If-Unmodified-Since`` with 412, single
    and multiple ``Range`` requests with 206 (honouring ``If-Range``), unsatisfiable ones with
    416. A missing file is a 404 problem response. ``filename`` adds a ``Content-Disposition``
    header so browsers download the file under that name::

        @app.get("/report")
        def report() -> FileResponse:
            return FileResponse("reports/2024.pdf", filename="Report 2024.pdf")
    """

    chunk_size = CHUNK_SIZE

    def __init__(
        self,
        path: str | os.PathLike[str],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        filename: str | None = None,
        stat_result: os.stat_result | None = None,
        method: str | None = None,
        content_disposition_type: Literal["attachment", "inline"] = "attachment",
        background: BackgroundTask | None = None,
    ) -> None:
        self.path = path
        # Resolved now, against the working directory the handler ran in.
        self._absolute_path = os.path.abspath(path)
        self.status_code = status_code
        self.filename = filename
        self.method = method.upper() if method is not None else None
        self.background = background
        if media_type is None:
            media_type = guess_type(filename or os.fspath(path))[0] or "application/octet-stream"
        self.media_type = media_type
        self.raw_headers = self._init_headers(headers)
        if filename is not None:
            disposition = content_disposition(content_disposition_type, filename)
            self.headers.setdefault("content-disposition", disposition)
        self.stat_result = stat_result
        if stat_result is not None:
            self._set_stat_headers(stat_result)

    def _set_stat_headers(self, result: os.stat_result) -> None:
        headers = self.headers
        headers.setdefault("content-length", str(result.st_size))
        headers.setdefault("last-modified", formatdate(result.st_mtime, usegmt=True))
        headers.setdefault("etag", f'"{result.st_mtime_ns:x}-{result.st_size:x}"')
        headers.setdefault("accept-ranges", "bytes")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = self.method or str(scope.get("method", "GET")).upper()
        result = self.stat_result
        if result is None:
            result = await run_in_threadpool(_stat_file, self.path)
            if result is None:
                await problem_response(HTTPException(404))(scope, receive, send)
                return
            self.stat_result = result
            self._set_stat_headers(result)
        plan = self._plan(Headers(scope.get("headers") or []), method, result)
        if isinstance(plan, Response):
            await plan(scope, receive, send)
            return
        status, headers, ranges, boundary = plan
        start: Message = {"type": "http.response.start", "status": status, "headers": headers}
        if method == "HEAD":
            await send(start)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        elif status != 206 and _PATHSEND in (scope.get("extensions") or ()):
            # The ASGI "path send" extension: the server sends the file itself (sendfile).
            await send(start)
            await send({"type": _PATHSEND, "path": self._absolute_path})
        elif boundary is None and ranges[0][1] - ranges[0][0] <= self.chunk_size:
            # PERF: a small file or range (most static assets) is read in one trip to the
            # thread pool and sent in one message, with no disconnect watcher to start.
            offset, end = ranges[0]
            body = await run_in_threadpool(_read_file, self.path, offset, end - offset)
            if body is None:  # removed since it was looked at
                await problem_response(HTTPException(404))(scope, receive, send)
                return
            await send(start)
            await send({"type": "http.response.body", "body": body, "more_body": False})
        else:
            file = await run_in_threadpool(_open, self.path)
            if file is None:
                await problem_response(HTTPException(404))(scope, receive, send)
                return
            try:
                await send(start)
                await _until_disconnect(self._send_body(send, file, ranges, boundary), receive)
            finally:
                await run_in_threadpool(file.close)
        if self.background is not None:
            await self.background()

    def _plan(
        self, request: Headers, method: str, result: os.stat_result
    ) -> Response | tuple[int, list[tuple[bytes, bytes]], list[tuple[int, int]], bytes | None]:
        """What to answer: a ready-made response, or (status, headers, ranges, boundary)."""
        size = result.st_size
        whole = (self.status_code, self.raw_headers, [(0, size)], None)
        if self.status_code != 200:
            return whole
        etag = self.headers.get("etag")
        modified = int(result.st_mtime)
        outcome = evaluate_preconditions(request, etag, modified, method)
        if outcome == 304:
            return self._not_modified()
        if outcome == 412:
            return problem_response(HTTPException(412))
        range_header = request.get("range")
        if range_header is None or method != "GET":
            return whole
        if_range = request.get("if-range")
        if if_range is not None and not _if_range_holds(if_range, etag, modified):
            return whole
        ranges = parse_range(range_header, size)
        if ranges is None:
            return whole
        if not ranges:
            return problem_response(
                HTTPException(416, headers={"Content-Range": f"bytes */{size}"})
            )
        headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        if len(ranges) == 1:
            start, end = ranges[0]
            headers.append((b"content-range", f"bytes {start}-{end - 1}/{size}".encode()))
            headers.append((b"content-length", str(end - start).encode()))
            return 206, headers, ranges, None
        boundary = secrets.token_hex(16).encode()
        length = sum(len(self._part_header(boundary, s, e, size)) + e - s + 2 for s, e in ranges)
        length += len(boundary) + 6  # b"--" boundary b"--\r\n"
        headers = [(k, v) for k, v in headers if k != b"content-type"]
        headers.append((b"content-type", b"multipart/byteranges; boundary=" + boundary))
        headers.append((b"content-length", str(length).encode()))
        return 206, headers, ranges, boundary

    def _part_header(self, boundary: bytes, start: int, end: int, size: int) -> bytes:
        content_type = self.headers.get("content-type", "application/octet-stream")
        return b"--%s\r\nContent-Type: %s\r\nContent-Range: bytes %d-%d/%d\r\n\r\n" % (
            boundary,
            content_type.encode("latin-1"),
            start,
            end - 1,
            size,
        )

    def _not_modified(self) -> Response:
        response = Response(status_code=304)
        response.raw_headers = [(k, v) for k, v in self.raw_headers if k in _NOT_MODIFIED_KEEP]
        return response

    async def _send_body(
        self, send: Send, file: IO[bytes], ranges: list[tuple[int, int]], boundary: bytes | None
    ) -> None:
        size = self.stat_result.st_size if self.stat_result is not None else 0
        for start, end in ranges:
            if boundary is not None:
                header = self._part_header(boundary, start, end, size)
                await send({"type": "http.response.body", "body": header, "more_body": True})
            offset = start
            while offset < end:
                chunk = await run_in_threadpool(
                    _read_at, file, offset, min(self.chunk_size, end - offset)
                )
                if not chunk:  # the file shrank: stop short, the server sees the length differ
                    break
                offset += len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            if boundary is not None:
                await send({"type": "http.response.body", "body": b"\r\n", "more_body": True})
        tail = b"--" + boundary + b"--\r\n" if boundary is not None else b""
        await send({"type": "http.response.body", "body": tail, "more_body": False})
