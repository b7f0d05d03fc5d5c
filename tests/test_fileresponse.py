from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any

import httpx
import pytest

from _docs import DOCS, run_page
from plait import App, FileResponse
from plait._fileresponse import parse_range
from plait.testing import TestClient
from plait.types import Message, Scope

SIZE = 200_000  # a little over three 64 KiB chunks
DATA = bytes(i % 251 for i in range(SIZE))


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "data.txt"
    path.write_bytes(DATA)
    return path


@pytest.fixture
def client(data_file: Path, tmp_path: Path) -> Iterator[TestClient]:
    app = App()

    @app.get("/file")
    def file() -> FileResponse:
        return FileResponse(data_file, headers={"Cache-Control": "max-age=60"})

    @app.get("/download")
    def download(name: str = "résumé 2024.txt") -> FileResponse:
        return FileResponse(data_file, filename=name)

    @app.get("/inline")
    def inline() -> FileResponse:
        return FileResponse(data_file, filename="a.txt", content_disposition_type="inline")

    @app.get("/missing")
    def missing() -> FileResponse:
        return FileResponse(tmp_path / "nope.txt")

    @app.get("/directory")
    def directory() -> FileResponse:
        return FileResponse(tmp_path)

    @app.get("/teapot")
    def teapot() -> FileResponse:
        return FileResponse(data_file, status_code=418)

    @app.get("/by-class", response_class=FileResponse)
    def by_class() -> str:
        return str(data_file)

    with TestClient(app) as client:
        yield client


def http_scope(path: str = "/", method: str = "GET", headers: list[Any] | None = None) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers or [],
    }


# -- the whole file


def test_sends_whole_file_with_validators(client: TestClient, data_file: Path) -> None:
    response = client.get("/file")
    assert response.status_code == 200
    assert response.content == DATA
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-length"] == str(SIZE)
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["cache-control"] == "max-age=60"
    stat = data_file.stat()
    assert response.headers["last-modified"] == formatdate(stat.st_mtime, usegmt=True)
    etag = response.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]+-[0-9a-f]+"', etag)
    assert etag.endswith(f'-{SIZE:x}"')


def test_body_is_streamed_in_chunks_no_larger_than_64k(data_file: Path) -> None:
    sent: list[Message] = []

    async def receive() -> Message:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(FileResponse(data_file)(http_scope(), receive, send))
    bodies = [m for m in sent if m["type"] == "http.response.body"]
    assert len(bodies) >= 4
    assert all(len(m["body"]) <= 64 * 1024 for m in bodies)
    assert all(m["more_body"] for m in bodies[:-1])
    assert bodies[-1]["more_body"] is False
    assert b"".join(m["body"] for m in bodies) == DATA


def test_path_send_extension_hands_the_file_to_the_server(data_file: Path) -> None:
    sent: list[Message] = []

    async def receive() -> Message:
        await asyncio.Event().wait()  # the client stays
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    scope = http_scope()
    scope["extensions"] = {"http.response.pathsend": {}}
    asyncio.run(FileResponse(data_file)(scope, receive, send))
    assert sent[0]["status"] == 200
    assert sent[1] == {"type": "http.response.pathsend", "path": str(data_file.resolve())}
    # A range is still cut by plait.
    sent.clear()
    scope["headers"] = [(b"range", b"bytes=0-9")]
    asyncio.run(FileResponse(data_file)(scope, receive, send))
    assert sent[0]["status"] == 206
    assert b"".join(m.get("body", b"") for m in sent[1:]) == DATA[:10]


def test_head_sends_headers_only(client: TestClient) -> None:
    response = client.head("/file")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == str(SIZE)
    assert "etag" in response.headers


def test_method_argument_overrides_the_scope(data_file: Path) -> None:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(FileResponse(data_file, method="head")(http_scope(), receive, send))
    assert sent[0]["status"] == 200
    assert [m["body"] for m in sent[1:]] == [b""]


def test_response_class_on_the_decorator(client: TestClient) -> None:
    assert client.get("/by-class").content == DATA


def test_other_status_ignores_range_and_validators(client: TestClient) -> None:
    etag = client.get("/file").headers["etag"]
    response = client.get("/teapot", headers={"Range": "bytes=0-9", "If-None-Match": etag})
    assert response.status_code == 418
    assert response.content == DATA


# -- missing files


def test_missing_file_is_a_404_problem(client: TestClient) -> None:
    response = client.get("/missing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404
    assert "nope" not in response.text  # the path is not leaked


def test_directory_is_a_404(client: TestClient) -> None:
    assert client.get("/directory").status_code == 404


def test_file_removed_after_stat_is_a_404(data_file: Path) -> None:
    response = FileResponse(data_file, stat_result=data_file.stat())
    data_file.unlink()
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(response(http_scope(), receive, send))
    assert sent[0]["status"] == 404


def test_small_file_removed_after_stat_is_a_404(tmp_path: Path) -> None:
    small = tmp_path / "small.txt"
    small.write_bytes(b"tiny")
    response = FileResponse(small, stat_result=small.stat())
    small.unlink()
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(response(http_scope(), receive, send))
    assert sent[0]["status"] == 404


def test_small_file_goes_out_in_one_message(tmp_path: Path) -> None:
    small = tmp_path / "small.txt"
    small.write_bytes(b"tiny")
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(FileResponse(small)(http_scope(), receive, send))
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[1] == {"type": "http.response.body", "body": b"tiny", "more_body": False}


def test_file_that_shrinks_while_sent_stops_short(data_file: Path) -> None:
    response = FileResponse(data_file, stat_result=data_file.stat())
    data_file.write_bytes(DATA[:70_000])  # truncated after the headers were decided
    sent: list[Message] = []

    async def receive() -> Message:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(asyncio.wait_for(response(http_scope(), receive, send), 5))
    assert dict(sent[0]["headers"])[b"content-length"] == str(SIZE).encode()  # as promised
    assert b"".join(m.get("body", b"") for m in sent[1:]) == DATA[:70_000]
    assert sent[-1]["more_body"] is False


def test_preconditions_on_unsafe_methods(data_file: Path) -> None:
    app = App()

    @app.post("/file")
    def post_file() -> FileResponse:
        return FileResponse(data_file)

    with TestClient(app) as client:
        etag = client.post("/file").headers["etag"]
        assert client.post("/file", headers={"If-None-Match": etag}).status_code == 412
        later = formatdate(data_file.stat().st_mtime + 60, usegmt=True)
        # If-Modified-Since only applies to GET and HEAD.
        assert client.post("/file", headers={"If-Modified-Since": later}).status_code == 200


def test_stat_result_sets_headers_up_front(data_file: Path) -> None:
    response = FileResponse(data_file, stat_result=data_file.stat())
    assert response.headers["content-length"] == str(SIZE)
    assert response.headers["etag"].startswith('"')


# -- media type and Content-Disposition


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"filename": "picture.png"}, "image/png"),
        ({"media_type": "application/x-custom"}, "application/x-custom"),
        ({}, "application/octet-stream"),
    ],
)
def test_media_type(tmp_path: Path, kwargs: dict[str, Any], expected: str) -> None:
    path = tmp_path / "blob"
    path.write_bytes(b"x")
    assert FileResponse(path, **kwargs).headers["content-type"] == expected


def test_non_ascii_filename_uses_rfc5987(client: TestClient) -> None:
    response = client.get("/download")
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"r_sum_ 2024.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9%202024.txt"
    )


def test_ascii_filename(client: TestClient) -> None:
    response = client.get("/download", params={"name": "report.txt"})
    assert response.headers["content-disposition"] == 'attachment; filename="report.txt"'


def test_filename_cannot_inject_headers_or_quotes(client: TestClient) -> None:
    response = client.get("/download", params={"name": 'a"b\\c\r\nSet-Cookie: x=1.txt'})
    disposition = response.headers["content-disposition"]
    assert "\r" not in disposition
    assert "\n" not in disposition
    assert disposition.startswith('attachment; filename="a_b_c__Set-Cookie: x=1.txt"; filename*=')
    assert "set-cookie" not in response.headers


def test_inline_disposition(client: TestClient) -> None:
    assert client.get("/inline").headers["content-disposition"] == 'inline; filename="a.txt"'


# -- conditional requests


def test_if_none_match_gives_304_without_body(client: TestClient) -> None:
    first = client.get("/file")
    response = client.get("/file", headers={"If-None-Match": first.headers["etag"]})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == first.headers["etag"]
    assert response.headers["cache-control"] == "max-age=60"
    assert "last-modified" in response.headers
    assert "content-type" not in response.headers
    assert "content-length" not in response.headers


@pytest.mark.parametrize("template", ["{etag}", "W/{etag}", '"other", {etag}', "*"])
def test_if_none_match_uses_weak_comparison(client: TestClient, template: str) -> None:
    etag = client.get("/file").headers["etag"]
    response = client.get("/file", headers={"If-None-Match": template.format(etag=etag)})
    assert response.status_code == 304


def test_if_none_match_mismatch_sends_the_file(client: TestClient) -> None:
    response = client.get("/file", headers={"If-None-Match": '"stale"'})
    assert response.status_code == 200
    assert response.content == DATA


def test_etag_changes_when_the_file_changes(client: TestClient, data_file: Path) -> None:
    etag = client.get("/file").headers["etag"]
    stat = data_file.stat()
    os.utime(data_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    response = client.get("/file", headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response.headers["etag"] != etag


def test_if_modified_since(client: TestClient, data_file: Path) -> None:
    mtime = data_file.stat().st_mtime
    same = formatdate(mtime, usegmt=True)
    later = formatdate(mtime + 60, usegmt=True)
    earlier = formatdate(mtime - 60, usegmt=True)
    assert client.get("/file", headers={"If-Modified-Since": same}).status_code == 304
    assert client.get("/file", headers={"If-Modified-Since": later}).status_code == 304
    assert client.get("/file", headers={"If-Modified-Since": earlier}).status_code == 200
    assert client.get("/file", headers={"If-Modified-Since": "yesterday"}).status_code == 200
    # If-None-Match wins over If-Modified-Since.
    both = {"If-None-Match": '"stale"', "If-Modified-Since": later}
    assert client.get("/file", headers=both).status_code == 200


def test_if_match_and_if_unmodified_since_give_412(client: TestClient, data_file: Path) -> None:
    etag = client.get("/file").headers["etag"]
    assert client.get("/file", headers={"If-Match": '"stale"'}).status_code == 412
    assert client.get("/file", headers={"If-Match": f"W/{etag}"}).status_code == 412
    assert client.get("/file", headers={"If-Match": etag}).status_code == 200
    earlier = formatdate(data_file.stat().st_mtime - 60, usegmt=True)
    assert client.get("/file", headers={"If-Unmodified-Since": earlier}).status_code == 412


# -- Range requests


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=100-", 100, SIZE - 1),
        ("bytes=-10", SIZE - 10, SIZE - 1),
        ("bytes=-999999999", 0, SIZE - 1),
        ("bytes=65530-65545", 65530, 65545),  # across a chunk boundary
        ("bytes=199990-999999999999999999999", 199990, SIZE - 1),
        ("BYTES = 5-9", 5, 9),
        ("bytes=0-10, 5-20", 0, 20),  # overlapping ranges are merged
        ("bytes=0-9,10-19", 0, 19),  # and so are adjacent ones
    ],
)
def test_single_range(client: TestClient, header: str, start: int, end: int) -> None:
    response = client.get("/file", headers={"Range": header})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes {start}-{end}/{SIZE}"
    assert response.headers["content-length"] == str(end - start + 1)
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.content == DATA[start : end + 1]


def _parse_multipart(response: httpx.Response) -> list[tuple[dict[str, str], bytes]]:
    content_type = response.headers["content-type"]
    boundary = content_type.split("boundary=")[1].encode()
    body = response.content
    assert body.endswith(b"--" + boundary + b"--\r\n")
    parts = []
    for chunk in body.split(b"--" + boundary)[1:-1]:
        assert chunk.startswith(b"\r\n")
        assert chunk.endswith(b"\r\n")
        head, _, data = chunk[2:-2].partition(b"\r\n\r\n")
        headers = dict(line.decode().split(": ", 1) for line in head.split(b"\r\n"))
        parts.append((headers, data))
    return parts


def test_multiple_ranges_are_multipart_byteranges(client: TestClient) -> None:
    response = client.get("/file", headers={"Range": "bytes=150000-150009, 0-4, -3"})
    assert response.status_code == 206
    assert response.headers["content-type"].startswith("multipart/byteranges; boundary=")
    assert response.headers["content-length"] == str(len(response.content))
    assert "content-range" not in response.headers
    parts = _parse_multipart(response)
    assert [data for _, data in parts] == [DATA[0:5], DATA[150000:150010], DATA[-3:]]
    assert [h["Content-Range"] for h, _ in parts] == [
        f"bytes 0-4/{SIZE}",
        f"bytes 150000-150009/{SIZE}",
        f"bytes {SIZE - 3}-{SIZE - 1}/{SIZE}",
    ]
    assert all(h["Content-Type"] == "text/plain; charset=utf-8" for h, _ in parts)


def test_unsatisfiable_part_is_dropped(client: TestClient) -> None:
    response = client.get("/file", headers={"Range": f"bytes=0-1,{SIZE}-"})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes 0-1/{SIZE}"


@pytest.mark.parametrize("header", [f"bytes={SIZE}-", f"bytes={SIZE + 5}-{SIZE + 9}", "bytes=-0"])
def test_unsatisfiable_range_is_416(client: TestClient, header: str) -> None:
    response = client.get("/file", headers={"Range": header})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{SIZE}"
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "header",
    [
        "bytes=abc",
        "bytes=5-2",
        "bytes=-",
        "bytes=",
        "bytes=,",
        "bytes=0-1;",
        "bytes=--1",
        "bytes=1-2-3",
        "bytes 0-1",
        "items=0-1",
        "bytes=0-\u00b2",  # a superscript two: str.isdigit() says yes, int() says no
        "bytes=0-" + "9" * 5000,  # more digits than int() takes
        "bytes=" + ",".join(f"{i}-{i}" for i in range(0, 200, 2)),  # too many parts
    ],
)
def test_malformed_range_is_ignored(client: TestClient, header: str) -> None:
    response = client.get("/file", headers=[(b"range", header.encode("latin-1"))])
    assert response.status_code == 200
    assert response.content == DATA
    assert "content-range" not in response.headers


def test_range_is_ignored_for_head(client: TestClient) -> None:
    response = client.head("/file", headers={"Range": "bytes=0-9"})
    assert response.status_code == 200
    assert response.headers["content-length"] == str(SIZE)


def test_if_range(client: TestClient, data_file: Path) -> None:
    etag = client.get("/file").headers["etag"]
    last_modified = formatdate(data_file.stat().st_mtime, usegmt=True)
    earlier = formatdate(data_file.stat().st_mtime - 60, usegmt=True)
    for validator, status in [
        (etag, 206),
        (last_modified, 206),
        ('"stale"', 200),
        (f"W/{etag}", 200),  # If-Range needs a strong validator
        (earlier, 200),
        ("garbage", 200),
    ]:
        headers = {"Range": "bytes=0-9", "If-Range": validator}
        response = client.get("/file", headers=headers)
        assert response.status_code == status, validator
        assert len(response.content) == (10 if status == 206 else SIZE)


def test_zero_length_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    app = App()

    @app.get("/")
    def index() -> FileResponse:
        return FileResponse(empty)

    with TestClient(app) as client:
        response = client.get("/")
        assert (response.status_code, response.content) == (200, b"")
        assert response.headers["content-length"] == "0"
        assert client.get("/", headers={"Range": "bytes=-5"}).status_code == 416
        assert client.get("/", headers={"Range": "bytes=0-"}).status_code == 416


def test_parse_range_directly() -> None:
    assert parse_range("bytes=0-0", 10) == [(0, 1)]
    assert parse_range("bytes=8-, 0-1, 1-2", 10) == [(0, 3), (8, 10)]
    assert parse_range("bytes=20-30", 10) == []
    assert parse_range("bytes=3-1", 10) is None
    assert parse_range("pages=1-2", 10) is None


# -- streaming behaviour


def test_client_disconnect_stops_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * (64 * 1024 * 40))
    sent: list[Message] = []
    gone = asyncio.Event()

    async def receive() -> Message:
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)
        if message["type"] == "http.response.body":
            gone.set()  # the client leaves after the first chunk
            await asyncio.sleep(0)

    async def scenario() -> None:
        await asyncio.wait_for(FileResponse(big)(http_scope(), receive, send), 10)

    asyncio.run(scenario())
    bodies = [m for m in sent if m["type"] == "http.response.body"]
    assert 1 <= len(bodies) < 10
    assert all(m["more_body"] for m in bodies)  # never claimed to have finished


def test_background_task_runs_after_the_body(data_file: Path) -> None:
    from plait import BackgroundTask

    calls: list[str] = []
    app = App()

    @app.get("/")
    def index() -> FileResponse:
        return FileResponse(data_file, background=BackgroundTask(calls.append, "done"))

    with TestClient(app) as client:
        assert client.get("/").content == DATA
    assert calls == ["done"]


# -- the docs page's examples run (tests/_docs.py)


def test_docs_page_examples_run() -> None:
    ran = run_page(DOCS / "responses.md")
    assert ran.blocks >= 2
    assert ran.tests >= 2
