from __future__ import annotations

import asyncio
import gzip
import zlib

import httpx
import pytest
from mw_harness import StreamingApp, TextApp, http_scope, run, websocket_scope

from plait.middleware import GZipMiddleware
from plait.types import Message, Receive, Scope, Send

BIG = b"plait weaves fast responses. " * 100  # 2,900 bytes, compresses well
GZIP = [("accept-encoding", "gzip, deflate, br")]


def test_compresses_when_client_accepts_gzip() -> None:
    app = GZipMiddleware(TextApp(BIG, headers=[(b"etag", b'"v1"')]))
    result = run(app, http_scope(headers=GZIP))
    assert result.status == 200
    assert result.header("content-encoding") == "gzip"
    assert result.header("vary") == "Accept-Encoding"
    assert result.header("etag") == 'W/"v1"'
    assert len(result.body_messages) == 1
    assert gzip.decompress(result.body) == BIG
    assert result.header("content-length") == str(len(result.body))
    assert len(result.body) < len(BIG)


@pytest.mark.parametrize(
    "accept",
    [None, "identity", "br, deflate", "gzip;q=0", "gzip; q=0.000, br", "gzip;q=x", "gzipped"],
)
def test_no_compression_unless_gzip_accepted(accept: str | None) -> None:
    headers = [] if accept is None else [("accept-encoding", accept)]
    result = run(GZipMiddleware(TextApp(BIG)), http_scope(headers=headers))
    assert result.header("content-encoding") is None
    assert result.header("vary") is None
    assert result.body == BIG


@pytest.mark.parametrize("accept", ["GZIP", "br;q=1.0, gzip;q=0.5", "x-gzip"])
def test_accept_encoding_variants(accept: str) -> None:
    result = run(GZipMiddleware(TextApp(BIG)), http_scope(headers=[("accept-encoding", accept)]))
    assert result.header("content-encoding") == "gzip"
    assert gzip.decompress(result.body) == BIG


def test_small_body_unchanged() -> None:
    app = GZipMiddleware(TextApp(b"x" * 499), minimum_size=500)
    result = run(app, http_scope(headers=GZIP))
    assert result.header("content-encoding") is None
    assert result.body == b"x" * 499
    assert result.header("content-length") == "499"

    at_limit = run(GZipMiddleware(TextApp(b"x" * 500)), http_scope(headers=GZIP))
    assert at_limit.header("content-encoding") == "gzip"


def test_empty_body_never_compressed() -> None:
    app = GZipMiddleware(TextApp(b"", status=204), minimum_size=0)
    result = run(app, http_scope(headers=GZIP))
    assert result.status == 204
    assert result.header("content-encoding") is None
    assert result.body == b""


def test_streaming_is_compressed_incrementally() -> None:
    chunks = [b"first chunk " * 10, b"", b"second chunk " * 10, b"third " * 300]
    inner = StreamingApp(chunks, headers=[(b"content-type", b"text/plain")])
    result = run(GZipMiddleware(inner, minimum_size=10_000), http_scope(headers=GZIP))
    assert result.header("content-encoding") == "gzip"
    assert result.header("content-length") is None
    # One message per non-empty chunk plus the final one: nothing was held back.
    assert len(result.body_messages) == 4
    assert all(m["more_body"] for m in result.body_messages[:-1])
    assert not result.body_messages[-1]["more_body"]
    assert gzip.decompress(result.body) == b"".join(chunks)


def test_stream_starting_with_an_empty_chunk() -> None:
    inner = StreamingApp([b"", b"abc" * 300], headers=[(b"content-type", b"text/plain")])
    result = run(GZipMiddleware(inner), http_scope(headers=GZIP))
    assert result.header("content-encoding") == "gzip"
    assert [bool(m["body"]) for m in result.body_messages] == [True, True]
    assert gzip.decompress(result.body) == b"abc" * 300


def test_other_messages_flush_the_held_start_unchanged() -> None:
    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        headers = ((b"content-type", b"text/plain"),)  # a tuple, not a list
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.pathsend", "path": "/srv/big.txt"})

    result = run(GZipMiddleware(inner), http_scope(headers=GZIP))
    assert result.header("content-encoding") is None
    assert result.messages[1] == {"type": "http.response.pathsend", "path": "/srv/big.txt"}


def test_vary_star_is_left_alone() -> None:
    inner = TextApp(BIG, headers=[(b"vary", b"*"), (b"x", b"1")])
    result = run(GZipMiddleware(inner), http_scope(headers=GZIP))
    assert result.header("vary") == "*"
    assert gzip.decompress(result.body) == BIG


def test_each_streamed_chunk_is_readable_on_arrival() -> None:
    sent: list[Message] = []
    seen_by_client: list[bytes] = []
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for part in (b"alpha " * 50, b"beta " * 50):
            await send({"type": "http.response.body", "body": part, "more_body": True})
            # The client can already decode this chunk before the app sends the next.
            seen_by_client.append(decoder.decompress(sent[-1]["body"]))
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def main() -> None:
        async def receive() -> Message:
            return {"type": "http.request", "body": b""}

        async def send(message: Message) -> None:
            sent.append(message)

        await GZipMiddleware(inner)(http_scope(headers=GZIP), receive, send)

    asyncio.run(main())
    assert seen_by_client == [b"alpha " * 50, b"beta " * 50]
    assert decoder.decompress(sent[-1]["body"]) == b""
    assert decoder.eof


def test_already_encoded_response_passes_through() -> None:
    payload = b"\x1f\x8b pretend this is brotli" * 50
    inner = TextApp(payload, headers=[(b"Content-Encoding", b"br")])
    result = run(GZipMiddleware(inner), http_scope(headers=GZIP))
    assert result.header("content-encoding") == "br"
    assert result.body == payload
    assert result.header("vary") is None


def test_server_sent_events_are_not_compressed() -> None:
    inner = StreamingApp([b"data: 1\n\n" * 100], headers=[(b"content-type", b"text/event-stream")])
    result = run(GZipMiddleware(inner, minimum_size=0), http_scope(headers=GZIP))
    assert result.header("content-encoding") is None
    assert result.body == b"data: 1\n\n" * 100


def test_partial_content_is_not_compressed() -> None:
    inner = TextApp(BIG, headers=[(b"content-range", b"bytes 0-2899/5000")], status=206)
    result = run(GZipMiddleware(inner), http_scope(headers=GZIP))
    assert result.header("content-encoding") is None
    assert result.body == BIG


def test_multipart_byteranges_are_not_compressed() -> None:
    # A multi-range 206 has no top-level Content-Range, yet its byte offsets must survive.
    ranges = [(b"content-type", b"multipart/byteranges; boundary=sep")]
    inner = TextApp(BIG, headers=ranges, status=206)
    result = run(GZipMiddleware(inner), http_scope(headers=GZIP))
    assert result.header("content-encoding") is None
    assert result.body == BIG


def test_non_http_scopes_pass_through() -> None:
    inner = TextApp()
    result = run(GZipMiddleware(inner), websocket_scope(headers=GZIP), inner)
    assert inner.called
    assert result.messages == [{"type": "websocket.accept"}]


@pytest.mark.parametrize(
    "options", [{"minimum_size": -1}, {"compresslevel": 0}, {"compresslevel": 10}]
)
def test_bad_options_are_refused(options: dict[str, int]) -> None:
    with pytest.raises(ValueError, match=next(iter(options))):
        GZipMiddleware(TextApp(), **options)


def test_with_httpx_client() -> None:
    async def main() -> httpx.Response:
        transport = httpx.ASGITransport(app=GZipMiddleware(TextApp(BIG)))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/", headers={"accept-encoding": "gzip"})

    response = asyncio.run(main())
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == BIG  # httpx decoded it
