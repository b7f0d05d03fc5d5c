"""CSRF through real servers: the form body the middleware read reaches the app whole.

granian (RSGI and ASGI) and uvicorn cut bodies into their own chunks; the token may sit in
the first one or after a large file.
"""

from __future__ import annotations

import hashlib
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import plait
from _servers import Server, granian_command, running, uvicorn_command

APP = textwrap.dedent(
    """
    import hashlib

    from plait import App, Request
    from plait.csrf import CSRF, csrf_token

    app = App(max_body_size=4 * 1024 * 1024)
    CSRF(app)

    @app.get("/token")
    def token(request: Request) -> str:
        return csrf_token(request)

    @app.post("/upload")
    async def upload(request: Request) -> dict:
        form = await request.form()
        data = await form["doc"].read()
        return {"title": form["title"], "sha": hashlib.sha256(data).hexdigest()}
    """
)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    apps = tmp_path_factory.mktemp("csrf_apps")
    (apps / "csrf_app.py").write_text(APP)
    commands = {
        "granian-rsgi": granian_command("rsgi", "csrf_app:app"),
        "granian-asgi": granian_command("asgi", "csrf_app:app"),
        "uvicorn": uvicorn_command("csrf_app:app"),
    }
    # The servers import the plait under test (a relative PYTHONPATH would not survive cwd).
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", str(Path(plait.__file__).resolve().parents[1]))
        with running(commands, cwd=Path(apps), pythonpath=Path(apps)) as started:
            yield started


@pytest.mark.parametrize("name", ["granian-rsgi", "granian-asgi", "uvicorn"])
def test_form_with_a_file_passes_whole(servers: dict[str, Server], name: str) -> None:
    content = hashlib.sha256(b"seed").digest() * 40_000  # 1.25 MiB
    digest = hashlib.sha256(content).hexdigest()
    with httpx.Client(base_url=servers[name].url, timeout=30) as client:
        token = client.get("/token").text
        first = client.post(
            "/upload",
            data={"csrf_token": token, "title": "first"},
            files={"doc": ("a.bin", content)},
        )
        assert first.json() == {"title": "first", "sha": digest}
        files: list[tuple[str, tuple[str | None, bytes, str]]] = [
            ("doc", ("a.bin", content, "application/octet-stream")),
            ("title", (None, b"last", "text/plain")),
            ("csrf_token", (None, token.encode(), "text/plain")),
        ]
        last = client.post("/upload", files=files)
        assert last.json() == {"title": "last", "sha": digest}
        refused = client.post("/upload", data={"title": "x"}, files={"doc": ("a.bin", content)})
        assert (refused.status_code, refused.text) == (403, "Forbidden: CSRF token missing.")
        too_big = client.post(
            "/upload",
            data={"title": "big"},
            files={"doc": ("a.bin", content * 4)},
        )
        assert too_big.status_code == 413
