"""plait.csrf reads the form's token from the body and replays the body to the app intact."""

from __future__ import annotations

import asyncio
import hashlib
import re
from pathlib import Path
from typing import Any

from plait import App, Request
from plait.csrf import CSRF, CSRFMiddleware
from plait.csrf._tokens import mask, new_secret
from plait.templates import Templates
from plait.testing import TestClient


def upload_app(max_body_size: int | None = 10 * 1024 * 1024) -> App:
    app = App(max_body_size=max_body_size)
    CSRF(app)

    @app.get("/token")
    def token(request: Request) -> str:
        return str(request.scope["csrf_token"]())

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, Any]:
        form = await request.form()
        result: dict[str, Any] = {}
        for key, value in form.multi_items():
            if isinstance(value, str):
                result[key] = value
            else:
                data = await value.read()
                result[key] = [value.filename, len(data), hashlib.sha256(data).hexdigest()]
        return result

    @app.post("/raw")
    async def raw(request: Request) -> dict[str, Any]:
        body = await request.body()
        return {"length": len(body), "sha": hashlib.sha256(body).hexdigest()}

    return app


def test_multipart_with_a_file_reaches_the_handler_whole() -> None:
    content = bytes(range(256)) * 1200  # 300 KiB: several 64 KiB messages
    digest = hashlib.sha256(content).hexdigest()
    with TestClient(upload_app()) as client:
        token = client.get("/token").text
        # The token field before the file (what csrf_input() at the top of a form gives)...
        first = client.post(
            "/upload",
            data={"csrf_token": token, "title": "héllo"},
            files={"doc": ("a.bin", content, "application/octet-stream")},
        )
        assert first.status_code == 200
        assert first.json() == {
            "csrf_token": token,
            "title": "héllo",
            "doc": ["a.bin", len(content), digest],
        }
        # ...and after it: the whole body is buffered, then replayed.
        files: list[tuple[str, tuple[str | None, bytes, str]]] = [
            ("doc", ("a.bin", content, "application/octet-stream")),
            ("csrf_token", (None, token.encode(), "text/plain")),
        ]
        after = client.post("/upload", files=files)
        assert after.status_code == 200
        assert after.json()["doc"] == ["a.bin", len(content), digest]
        # A file *named* csrf_token is not the token.
        fake = client.post("/upload", files={"csrf_token": ("t.txt", token.encode())})
        assert (fake.status_code, fake.text) == (403, "Forbidden: CSRF token missing.")


def test_urlencoded_token_after_a_long_field_and_raw_body_replay() -> None:
    long_value = "x" * 200_000
    with TestClient(upload_app()) as client:
        token = client.get("/token").text
        response = client.post("/upload", data={"text": long_value, "csrf_token": token})
        assert response.status_code == 200
        assert response.json() == {"text": long_value, "csrf_token": token}
        body = f"a=1&csrf_token={token}&b=%26%3D".encode()
        raw = client.post(
            "/raw",
            content=body,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert raw.json() == {"length": len(body), "sha": hashlib.sha256(body).hexdigest()}
        missing = client.post("/upload", data={"text": long_value})
        assert missing.text == "Forbidden: CSRF token missing."
        # Other body types need the header: the middleware does not read them.
        other = client.post("/raw", content=b"x", headers={"content-type": "text/plain"})
        assert other.text == "Forbidden: CSRF token missing."


def test_oversized_bodies_are_413_not_500() -> None:
    with TestClient(upload_app(max_body_size=1000)) as client:
        token = client.get("/token").text
        too_big = client.post("/upload", data={"text": "x" * 5000, "csrf_token": token})
        assert too_big.status_code == 413
        assert (
            too_big.text == "Request Entity Too Large: The request body is larger than 1000 bytes"
        )
        problem = client.post(
            "/upload",
            data={"text": "x" * 5000},
            headers={"accept": "application/json"},
        )
        assert problem.status_code == 413
        assert problem.json()["status"] == 413
        assert client.post("/upload", data={"csrf_token": token}).status_code == 200


def run_asgi(app: Any, scope: dict[str, Any], chunks: list[bytes]) -> tuple[list[Any], int]:
    """Run ``app`` with ``chunks`` as body messages; also report how many were received."""
    sent: list[Any] = []
    taken = 0

    async def receive() -> dict[str, Any]:
        nonlocal taken
        if taken < len(chunks):
            taken += 1
            return {
                "type": "http.request",
                "body": chunks[taken - 1],
                "more_body": taken < len(chunks),
            }
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent, taken


def form_scope(secret: str) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "POST",
        "path": "/",
        "scheme": "http",
        "headers": [
            (b"host", b"example.com"),
            (b"cookie", f"csrftoken={secret}".encode()),
            (b"content-type", b"application/x-www-form-urlencoded"),
        ],
    }


def test_the_app_gets_the_parsed_form_and_the_body_unchanged() -> None:
    """The check parses the form once; the app's request.form() is that parse, and a raw
    ``receive`` still gives the exact body (in one message)."""
    secret = new_secret()
    token = mask(secret)
    chunks = [b"csrf_token=" + token.encode() + b"&a=", b"1" * 10, b"2" * 10, b"&b=3"]
    seen: dict[str, Any] = {}

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen["form"] = dict(await Request(scope, receive).form())
        message = await receive()
        seen["body"], seen["more"] = message["body"], message["more_body"]
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    sent, taken = run_asgi(CSRFMiddleware(inner), form_scope(secret), chunks)
    assert sent[0]["status"] == 204
    assert taken == len(chunks)
    assert seen["form"] == {"csrf_token": token, "a": "1" * 10 + "2" * 10, "b": "3"}
    assert (seen["body"], seen["more"]) == (b"".join(chunks), False)


def test_streamed_body_without_content_length_is_capped() -> None:
    secret = new_secret()

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the app must not run")

    chunks = [b"a=" + b"x" * 600, b"y" * 600, b"&csrf_token=" + mask(secret).encode()]
    sent, taken = run_asgi(CSRFMiddleware(inner, max_body_size=1000), form_scope(secret), chunks)
    assert sent[0]["status"] == 413
    assert taken == 2  # stopped reading at the cap
    # A client that disconnects before sending the token is not answered by the app either.
    sent, _ = run_asgi(CSRFMiddleware(inner), form_scope(secret), [])
    assert sent[0]["status"] == 403


def test_templates_csrf_input_round_trip(tmp_path: Path) -> None:
    (tmp_path / "form.html").write_text(
        '<form method="post">{{ csrf_input() }}<input name="title"></form>'
        "<script>const token = {{ csrf_token()|tojson }}</script>"
    )
    app = App()
    CSRF(app)
    templates = Templates(app, tmp_path)

    @app.get("/new")
    def new(request: Request) -> Any:
        return templates.render(request, "form.html")

    @app.post("/new")
    async def create(request: Request) -> str:
        form = await request.form()
        return f"created {form['title']}"

    with TestClient(app) as client:
        page = client.get("/new")
        assert "csrftoken=" in page.headers["set-cookie"]
        match = re.search(r'<input type="hidden" name="csrf_token" value="(\w{64})">', page.text)
        assert match is not None
        script_token = re.search(r'const token = "(\w{64})"', page.text)
        assert script_token is not None
        assert script_token.group(1) != match.group(1)  # masked per call
        response = client.post("/new", data={"csrf_token": match.group(1), "title": "Hi"})
        assert response.text == "created Hi"
        header = client.post(
            "/new", data={"title": "Yo"}, headers={"X-CSRF-Token": script_token.group(1)}
        )
        assert header.text == "created Yo"
        assert client.post("/new", data={"title": "No"}).status_code == 403
