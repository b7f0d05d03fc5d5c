"""Form bodies: urlencoded and multipart, uploads spooled to disk, limits, and bad input."""

from __future__ import annotations

from typing import Any

import pytest

from plait import App, FormData, HTTPException, Request, UploadFile
from plait._formparser import FormLimits
from plait.testing import TestClient

BOUNDARY = "plait-test-boundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def _multipart(*parts: tuple[str, bytes], close: bool = True) -> bytes:
    """A multipart body from ``(headers, content)`` parts, written by hand."""
    out = b""
    for headers, content in parts:
        out += f"--{BOUNDARY}\r\n{headers}\r\n\r\n".encode() + content + b"\r\n"
    if close:
        out += f"--{BOUNDARY}--\r\n".encode()
    return out


def _field(name: str, value: bytes) -> tuple[str, bytes]:
    return f'Content-Disposition: form-data; name="{name}"', value


def _form_app(limits: FormLimits | None = None, **options: Any) -> tuple[App, list[UploadFile]]:
    """An app echoing its form; uploaded files are kept in the returned list for inspection."""
    app = App(**options)
    uploads: list[UploadFile] = []

    @app.post("/form")
    async def form(request: Request) -> dict[str, Any]:
        data = await request.form(limits)
        assert await request.form() is data
        out: dict[str, Any] = {}
        for key, value in data.multi_items():
            if isinstance(value, UploadFile):
                uploads.append(value)
                content = await value.read()
                value = {
                    "filename": value.filename,
                    "content_type": value.content_type,
                    "size": value.size,
                    "in_memory": value.in_memory,
                    "content": content.decode("latin-1"),
                }
            out.setdefault(key, []).append(value)
        return out

    return app, uploads


# ------------------------------------------------------------------ urlencoded


def test_urlencoded_fields_with_repeats_and_escapes() -> None:
    app, _ = _form_app()
    with TestClient(app) as client:
        response = client.post(
            "/form",
            content=b"name=Ann+Lee&tag=a&tag=b%26c&empty=&caf%C3%A9=%E2%82%AC",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    assert response.json() == {
        "name": ["Ann Lee"],
        "tag": ["a", "b&c"],
        "empty": [""],
        "café": ["€"],
    }


def test_urlencoded_through_httpx_data() -> None:
    app, _ = _form_app()
    with TestClient(app) as client:
        assert client.post("/form", data={"a": "1", "b": "two words"}).json() == {
            "a": ["1"],
            "b": ["two words"],
        }


def test_urlencoded_invalid_utf8_is_400() -> None:
    app, _ = _form_app()
    with TestClient(app) as client:
        response = client.post(
            "/form",
            content=b"name=\xff\xfe",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Malformed form body"
    assert response.json()["detail"] == "The form body is not valid UTF-8"


def test_urlencoded_too_many_fields_is_400() -> None:
    app, _ = _form_app(FormLimits(max_fields=3))
    with TestClient(app) as client:
        assert client.post("/form", data={"a": "1", "b": "2", "c": "3"}).status_code == 200
        response = client.post("/form", data={"a": "1", "b": "2", "c": "3", "d": "4"})
    assert response.status_code == 400
    assert response.json()["detail"] == "Too many form fields (more than 3)"


def test_urlencoded_body_over_max_body_size_is_413() -> None:
    app, _ = _form_app(max_body_size=20)
    with TestClient(app) as client:
        response = client.post("/form", data={"a": "x" * 50})
    assert response.status_code == 413


# ------------------------------------------------------------------ content types


@pytest.mark.parametrize(
    "headers",
    [{"content-type": "text/plain"}, {"content-type": "application/json"}, {}],
)
def test_wrong_or_missing_content_type_is_415(headers: dict[str, str]) -> None:
    app, _ = _form_app()
    with TestClient(app) as client:
        response = client.post("/form", content=b"a=1", headers=headers)
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"
    assert "multipart/form-data" in response.json()["detail"]


# ------------------------------------------------------------------ multipart


def test_multipart_fields_and_files() -> None:
    app, uploads = _form_app()
    with TestClient(app) as client:
        response = client.post(
            "/form",
            data={"title": "Report", "tag": ["a", "b"]},
            files=[
                ("doc", ("report.txt", b"hello file", "text/plain")),
                ("doc", ("data.bin", b"\x00\x01", "application/octet-stream")),
            ],
        )
    assert response.status_code == 200
    assert response.json() == {
        "title": ["Report"],
        "tag": ["a", "b"],
        "doc": [
            {
                "filename": "report.txt",
                "content_type": "text/plain",
                "size": 10,
                "in_memory": True,
                "content": "hello file",
            },
            {
                "filename": "data.bin",
                "content_type": "application/octet-stream",
                "size": 2,
                "in_memory": True,
                "content": "\x00\x01",
            },
        ],
    }
    # The request closed its uploads once the response was sent.
    assert len(uploads) == 2
    assert all(upload.file.closed for upload in uploads)


def test_file_part_without_content_type_defaults_to_octet_stream() -> None:
    app, _ = _form_app()
    body = _multipart(('Content-Disposition: form-data; name="f"; filename="a.txt"', b"abc"))
    with TestClient(app) as client:
        response = client.post("/form", content=body, headers={"content-type": MULTIPART})
    (upload,) = response.json()["f"]
    assert upload["content_type"] == "application/octet-stream"
    assert upload["content"] == "abc"


def test_uploads_are_spooled_to_disk_past_the_spool_size() -> None:
    app, uploads = _form_app(FormLimits(spool_size=1024))
    small, large = b"s" * 1024, b"L" * (200 * 1024)
    with TestClient(app) as client:
        response = client.post(
            "/form", files={"small": ("s.txt", small), "large": ("l.bin", large)}
        )
    assert response.status_code == 200
    data = response.json()
    assert data["small"][0]["in_memory"] is True
    assert data["large"][0]["in_memory"] is False
    assert data["large"][0]["size"] == len(large)
    assert data["large"][0]["content"] == large.decode()
    assert all(upload.file.closed for upload in uploads)


def test_files_are_closed_even_when_the_handler_fails() -> None:
    app = App()
    uploads: list[UploadFile] = []

    @app.post("/")
    async def handler(request: Request) -> None:
        form = await request.form(FormLimits(spool_size=10))
        upload = form["f"]
        assert isinstance(upload, UploadFile)
        uploads.append(upload)
        raise HTTPException(422, "nope")

    with TestClient(app) as client:
        assert client.post("/", files={"f": ("a", b"x" * 100)}).status_code == 422
    assert uploads[0].file.closed


def test_multipart_too_many_fields_is_400() -> None:
    app, _ = _form_app(FormLimits(max_fields=2))
    body = _multipart(_field("a", b"1"), _field("b", b"2"), _field("c", b"3"))
    with TestClient(app) as client:
        response = client.post("/form", content=body, headers={"content-type": MULTIPART})
    assert response.status_code == 400
    assert response.json()["detail"] == "Too many form fields (more than 2)"


def test_multipart_too_many_files_is_400_and_closes_what_was_received() -> None:
    app, _ = _form_app(FormLimits(max_files=1, spool_size=4))
    with TestClient(app) as client:
        response = client.post(
            "/form", files=[("f", ("1.txt", b"x" * 100)), ("f", ("2.txt", b"y" * 100))]
        )
    assert response.status_code == 400
    assert response.json()["detail"] == "Too many files (more than 1)"


def test_multipart_field_over_max_part_size_is_413() -> None:
    app, _ = _form_app(FormLimits(max_part_size=10))
    with TestClient(app) as client:
        assert (
            client.post("/form", data={"a": "x" * 10}, files={"f": ("f", b"")}).status_code == 200
        )
        response = client.post("/form", data={"a": "x" * 11}, files={"f": ("f", b"")})
    assert response.status_code == 413
    assert response.json()["detail"] == "A form field is larger than 10 bytes"


def test_multipart_over_max_body_size_is_413_and_closes_spooled_files() -> None:
    app, _ = _form_app(FormLimits(spool_size=16), max_body_size=100 * 1024)
    with TestClient(app) as client:
        response = client.post("/form", files={"f": ("big.bin", b"z" * (300 * 1024))})
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("body", "content_type", "detail"),
    [
        (
            _multipart(_field("a", b"1")),
            "multipart/form-data",
            "The multipart body has no boundary",
        ),
        (
            _multipart(("Content-Disposition: form-data", b"1")),
            MULTIPART,
            "A multipart part has no name in its Content-Disposition",
        ),
        (
            _multipart(("Content-Type: text/plain", b"1")),
            MULTIPART,
            "A multipart part has no name in its Content-Disposition",
        ),
        (
            _multipart(_field("a", b"\xff\xfe")),
            MULTIPART,
            "Form field 'a' is not valid UTF-8",
        ),
        (
            _multipart(_field("a", b"1"), close=False),
            MULTIPART,
            "The multipart body ended before its closing boundary",
        ),
        (b"", MULTIPART, "The multipart body ended before its closing boundary"),
        (b"this is not multipart at all", MULTIPART, "Malformed multipart body"),
        (
            b"--" + BOUNDARY.encode() + b"\r\nNo-Colon-Header\r\n\r\nx\r\n",
            MULTIPART,
            "Malformed multipart body",
        ),
    ],
)
def test_malformed_multipart_is_400(body: bytes, content_type: str, detail: str) -> None:
    app, _ = _form_app()
    with TestClient(app) as client:
        response = client.post("/form", content=body, headers={"content-type": content_type})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["title"] == "Malformed form body"
    assert problem["detail"].startswith(detail)


def test_truncated_multipart_with_a_spooled_file_closes_it() -> None:
    app, _ = _form_app(FormLimits(spool_size=8))
    body = _multipart(
        _field("a", b"1"),
        ('Content-Disposition: form-data; name="f"; filename="x.bin"', b"q" * 1000),
        close=False,
    )
    # Cut inside the file's data: the parser never sees the end of the part.
    body = body[: body.index(b"q" * 1000) + 500]
    with TestClient(app) as client:
        response = client.post("/form", content=body, headers={"content-type": MULTIPART})
    assert response.status_code == 400
    assert response.json()["detail"] == "The multipart body ended before its closing boundary"


def test_garbage_after_a_spooled_file_closes_it() -> None:
    app, _ = _form_app(FormLimits(spool_size=8))
    body = _multipart(
        ('Content-Disposition: form-data; name="f"; filename="x.bin"', b"q" * 1000), close=False
    )
    body += f"--{BOUNDARY}\r\nbroken header line\r\n\r\n".encode()
    with TestClient(app) as client:
        response = client.post("/form", content=body, headers={"content-type": MULTIPART})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Malformed multipart body")


def test_form_limits_defaults() -> None:
    limits = FormLimits()
    assert (limits.max_fields, limits.max_files) == (1000, 1000)
    assert limits.max_part_size == limits.spool_size == 1024 * 1024


def test_request_close_without_a_form_is_harmless() -> None:
    import asyncio

    async def main() -> None:
        request = Request({"type": "http", "headers": []})
        await request.close()

    asyncio.run(main())


def test_formdata_from_a_handler_is_a_mapping() -> None:
    app = App()

    @app.post("/")
    async def handler(request: Request) -> dict[str, Any]:
        form = await request.form()
        assert isinstance(form, FormData)
        return {"keys": sorted(form), "len": len(form), "b": form.getlist("b")}

    with TestClient(app) as client:
        assert client.post("/", data={"a": "1", "b": ["2", "3"]}).json() == {
            "keys": ["a", "b"],
            "len": 2,
            "b": ["2", "3"],
        }
