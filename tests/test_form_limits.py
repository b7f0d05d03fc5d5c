"""Form limits hold while the body is parsed (issue 12, finding 4), and a form is parsed once.

Each attack body below used to cost a second or more of CPU before a limit applied (the CSRF
scanner walked a 10 MB body for a made-up cookie; ``parse_qsl`` split the whole body before
the field count was checked; 150,000 multipart parts were all parsed). Now each is refused
while it is read, within a bounded CPU time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import plait._request
from plait import App, FormData, FormLimits, Request, UploadFile
from plait.csrf import CSRF
from plait.csrf._tokens import mask, new_secret
from plait.testing import TestClient

MB = 1024 * 1024
BOUNDARY = "limits-boundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
URLENCODED = "application/x-www-form-urlencoded"
CPU_BUDGET = 0.5
"""Seconds of CPU one refused attack body may cost (each took 1.1 to 2.6 s before)."""


def _app(*, csrf: bool, **options: Any) -> App:
    app = App(**options)
    if csrf:
        CSRF(app)

    @app.post("/form")
    async def form(request: Request) -> dict[str, int]:
        return {"fields": len(await request.form())}

    return app


def _many_parts(count: int) -> bytes:
    part = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f"\r\n\r\nx\r\n'.encode()
    return part * count + f"--{BOUNDARY}--\r\n".encode()


def _cpu(call: Callable[[], Any]) -> tuple[Any, float]:
    start = time.process_time()
    result = call()
    return result, time.process_time() - start


@pytest.fixture(scope="module")
def clients() -> Iterator[dict[bool, TestClient]]:
    with TestClient(_app(csrf=False)) as plain, TestClient(_app(csrf=True)) as guarded:
        guarded.cookies.set("csrftoken", new_secret())  # made up: no page ever issued it
        yield {False: plain, True: guarded}


ATTACKS = {
    # 10 MB of one field: over the 2.5 MB cap on form data, refused before it is read.
    "10 MB urlencoded": (URLENCODED, b"a=" + b"x" * (10 * MB - 2), 413),
    # 2 MB of one-letter fields: over the field count, refused as the fields are counted.
    "2 MB of fields": (URLENCODED, b"&".join([b"a"] * (MB)), 400),
    # 10 MB of "a&a&…": over both; the size cap answers first.
    "10 MB of fields": (URLENCODED, b"&".join([b"a"] * (5 * MB)), 413),
    "150,000 multipart parts": (MULTIPART, _many_parts(150_000), 400),
}


@pytest.mark.parametrize("csrf", [False, True], ids=["plain", "csrf-made-up-cookie"])
@pytest.mark.parametrize("attack", list(ATTACKS))
def test_attack_bodies_are_refused_within_bounded_cpu(
    clients: dict[bool, TestClient], attack: str, csrf: bool
) -> None:
    content_type, body, status = ATTACKS[attack]
    client = clients[csrf]
    response, seconds = _cpu(
        lambda: client.post("/form", content=body, headers={"content-type": content_type})
    )
    assert response.status_code == status, response.text
    assert seconds < CPU_BUDGET, f"{attack}: {seconds:.2f} s of CPU"


def test_a_streamed_urlencoded_body_is_refused_at_the_data_cap() -> None:
    """Without a Content-Length, the cap applies as the chunks arrive."""
    received = []
    app = _app(csrf=False)

    def chunks() -> Iterator[bytes]:
        for _ in range(40):  # 10 MB in 256 KiB chunks
            received.append(1)
            yield b"a" * (256 * 1024)

    with TestClient(app) as client:
        response = client.post("/form", content=chunks(), headers={"content-type": URLENCODED})
    assert response.status_code == 413
    assert response.json()["detail"] == "The form data is larger than 2621440 bytes"


def test_the_form_data_cap_is_separate_from_the_upload_cap() -> None:
    """Files may use the whole ``max_body_size``; the fields together only ``max_data_size``."""
    app = App()

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, int]:
        form = await request.form(FormLimits(max_data_size=1000))
        sizes = {}
        for key, value in form.multi_items():
            sizes[key] = value.size if isinstance(value, UploadFile) else len(value)
        return sizes

    with TestClient(app) as client:
        big_file = client.post("/upload", files={"doc": ("a.bin", b"z" * (3 * MB))})
        assert big_file.json() == {"doc": 3 * MB}
        fields = {f"f{i}": "y" * 400 for i in range(3)}  # 1,200 bytes of fields
        too_much = client.post("/upload", data=fields, files={"doc": ("a.bin", b"z")})
        assert too_much.status_code == 413
        assert too_much.json()["detail"] == "The form data is larger than 1000 bytes"
        urlencoded = client.post("/upload", data=fields)
        assert urlencoded.status_code == 413


def test_form_limits_default_to_djangos() -> None:
    limits = FormLimits()
    assert limits.max_data_size == 2_621_440  # DATA_UPLOAD_MAX_MEMORY_SIZE
    assert limits.max_fields == 1000  # DATA_UPLOAD_MAX_NUMBER_FIELDS


@pytest.mark.parametrize("kind", ["urlencoded", "multipart"])
def test_csrf_and_the_handler_share_one_parse(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real_urlencoded = plait._request.parse_urlencoded
    real_multipart = plait._request.parse_multipart

    def urlencoded(*args: Any) -> FormData:
        calls.append(1)
        return real_urlencoded(*args)

    async def multipart(*args: Any) -> FormData:
        calls.append(1)
        return await real_multipart(*args)

    monkeypatch.setattr(plait._request, "parse_urlencoded", urlencoded)
    monkeypatch.setattr(plait._request, "parse_multipart", multipart)
    app = App()
    CSRF(app)
    seen: list[Any] = []

    @app.post("/form")
    async def form(request: Request) -> dict[str, str]:
        data = await request.form()
        seen.append(data)
        return {"title": str(data["title"])}

    secret = new_secret()
    with TestClient(app) as client:
        client.cookies.set("csrftoken", secret)
        fields = {"csrf_token": mask(secret), "title": "Hi"}
        files = {"doc": ("a.txt", b"hello")} if kind == "multipart" else None
        response = client.post("/form", data=fields, files=files)
        assert response.json() == {"title": "Hi"}
        assert len(calls) == 1
        # A wrong token is refused before the handler, still with one parse.
        calls.clear()
        refused = client.post("/form", data={"csrf_token": "x" * 64, "title": "No"}, files=files)
        assert refused.status_code == 403
        assert len(calls) == 1
    assert len(seen) == 1
