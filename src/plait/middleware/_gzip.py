"""Gzip response compression, chunk by chunk, for clients that accept it."""

from __future__ import annotations

import zlib

from plait.middleware._headers import add_vary, get_header, mutable_response_headers
from plait.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["GZipMiddleware"]

_GZIP_WBITS = 16 + zlib.MAX_WBITS  # zlib writes a gzip header and trailer with this.
# Response headers that mean "leave the body alone".
_SKIP_HEADERS = frozenset({b"content-encoding", b"content-range"})


def accepts_gzip(accept_encoding: bytes) -> bool:
    """Return whether an ``Accept-Encoding`` value allows gzip (honouring ``q=0``)."""
    value = accept_encoding.lower()
    # PERF: most requests either lack gzip entirely or are decided by the loop's first hit.
    if b"gzip" not in value:
        return False
    for part in value.split(b","):
        coding, _, params = part.partition(b";")
        if coding.strip() in (b"gzip", b"x-gzip"):
            return not _q_is_zero(params)
    return False


def _q_is_zero(params: bytes) -> bool:
    for param in params.split(b";"):
        key, _, value = param.partition(b"=")
        if key.strip() == b"q":
            try:
                return float(value) == 0.0
            except ValueError:
                return True  # An unreadable weight: don't guess that the client wants gzip.
    return False


class GZipMiddleware:
    """Compress responses with gzip when the client sends ``Accept-Encoding: gzip``.

    A single-chunk body smaller than ``minimum_size`` bytes is sent unchanged (gzip
    would not pay for its own header). Streaming responses are compressed chunk by
    chunk and each chunk is flushed at once, so the stream still arrives
    progressively; the body is never collected in memory. Responses that already
    carry ``Content-Encoding`` or ``Content-Range``, partial (206) responses, and
    ``text/event-stream`` responses pass through untouched.

    Example::

        app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=6)
    """

    def __init__(self, app: ASGIApp, *, minimum_size: int = 500, compresslevel: int = 9) -> None:
        if type(minimum_size) is not int or minimum_size < 0:
            raise ValueError(f"minimum_size must be a non-negative int, got {minimum_size!r}")
        if type(compresslevel) is not int or not 1 <= compresslevel <= 9:
            raise ValueError(f"compresslevel must be an int from 1 to 9, got {compresslevel!r}")
        self.app = app
        self.minimum_size = minimum_size
        self.compresslevel = compresslevel

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            accept = get_header(scope["headers"], b"accept-encoding")
            if accept is not None and accepts_gzip(accept):
                responder = _GZipResponder(send, self.minimum_size, self.compresslevel)
                await self.app(scope, receive, responder.send)
                return
        await self.app(scope, receive, send)


class _GZipResponder:
    """Per-request state: holds the start message until the first body chunk decides."""

    __slots__ = ("compresslevel", "compressor", "minimum_size", "pending_start", "send_next")

    def __init__(self, send: Send, minimum_size: int, compresslevel: int) -> None:
        self.send_next = send
        self.minimum_size = minimum_size
        self.compresslevel = compresslevel
        self.pending_start: Message | None = None
        self.compressor: zlib._Compress | None = None

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            if _should_compress(message):
                self.pending_start = message  # Wait: the first body chunk decides.
                return
        elif self.compressor is not None and kind == "http.response.body":
            await self.send_compressed_chunk(message)
            return
        elif self.pending_start is not None:
            start, self.pending_start = self.pending_start, None
            if kind == "http.response.body":
                await self.send_first_chunk(start, message)
                return
            await self.send_next(start)  # Some other message (e.g. pathsend): no gzip.
        await self.send_next(message)

    async def send_first_chunk(self, start: Message, message: Message) -> None:
        body: bytes = message.get("body", b"")
        more_body: bool = message.get("more_body", False)
        if not more_body and (not body or len(body) < self.minimum_size):
            await self.send_next(start)
            await self.send_next(message)
            return
        compressor = zlib.compressobj(self.compresslevel, zlib.DEFLATED, _GZIP_WBITS)
        headers = mutable_response_headers(start)
        headers[:] = [_weak_etag(h) for h in headers if h[0].lower() != b"content-length"]
        headers.append((b"content-encoding", b"gzip"))
        add_vary(headers, b"Accept-Encoding")
        if more_body:
            self.compressor = compressor
            data = compressor.compress(body) + compressor.flush(zlib.Z_SYNC_FLUSH) if body else b""
        else:
            data = compressor.compress(body) + compressor.flush()
            headers.append((b"content-length", str(len(data)).encode("latin-1")))
        await self.send_next(start)
        if data or not more_body:
            await self.send_next(
                {"type": "http.response.body", "body": data, "more_body": more_body}
            )

    async def send_compressed_chunk(self, message: Message) -> None:
        assert self.compressor is not None
        body: bytes = message.get("body", b"")
        if message.get("more_body", False):
            if not body:
                return  # Nothing to deliver; an empty chunk could read as end-of-stream.
            data = self.compressor.compress(body) + self.compressor.flush(zlib.Z_SYNC_FLUSH)
            await self.send_next({"type": "http.response.body", "body": data, "more_body": True})
            return
        data = self.compressor.compress(body) + self.compressor.flush()
        self.compressor = None
        await self.send_next({"type": "http.response.body", "body": data, "more_body": False})


def _should_compress(start: Message) -> bool:
    # A 206 is a slice (or a multipart/byteranges set of slices) of a representation:
    # compressing it would break the byte offsets the client asked for.
    if start.get("status") == 206:
        return False
    for key, value in start.get("headers", ()):
        name = key.lower()
        if name in _SKIP_HEADERS:
            return False
        if name == b"content-type" and value.lower().startswith(b"text/event-stream"):
            return False
    return True


def _weak_etag(header: tuple[bytes, bytes]) -> tuple[bytes, bytes]:
    # A strong ETag names exact bytes; the gzipped body differs, so weaken it (as Django does).
    key, value = header
    if key.lower() == b"etag" and value.startswith(b'"'):
        return key, b"W/" + value
    return header
