"""Issue 12's defences through real servers (granian RSGI and ASGI, uvicorn): the paths that
differ per interface are the host check (RSGI has its own), the headers and WebSockets.

A plain app and one with middleware, so both of the app's entry points are crossed.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import plait
from _servers import Server, granian_command, running, uvicorn_command

APP = textwrap.dedent(
    """
    from plait import App, HTMLResponse, Request
    from plait.middleware import RequestIDMiddleware

    def make():
        app = App()

        @app.get("/abs", name="abs")
        async def absolute(request: Request) -> str:
            return request.url_for("abs")

        @app.get("/page")
        async def page() -> HTMLResponse:
            return HTMLResponse("<h1>log in</h1>")

        @app.get("/data")
        async def data() -> dict:
            return {"ok": True}

        @app.get("/{rest:path}", name="any")
        async def any_path(rest: str) -> str:
            return rest

        return app

    app = make()
    wrapped = make()
    wrapped.add_middleware(RequestIDMiddleware)
    """
)
NAMES = [
    f"{server}/{target}"
    for server in ("granian-rsgi", "granian-asgi", "uvicorn")
    for target in ("app", "wrapped")
]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    apps = tmp_path_factory.mktemp("security_apps")
    (apps / "security_app.py").write_text(APP)
    commands = {}
    for target in ("app", "wrapped"):
        commands[f"granian-rsgi/{target}"] = granian_command("rsgi", f"security_app:{target}")
        commands[f"granian-asgi/{target}"] = granian_command("asgi", f"security_app:{target}")
        commands[f"uvicorn/{target}"] = uvicorn_command(f"security_app:{target}")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", str(Path(plait.__file__).resolve().parents[1]))
        with running(commands, cwd=Path(apps), pythonpath=Path(apps), timeout=60) as started:
            yield started


@pytest.mark.parametrize("name", NAMES)
def test_unknown_hosts_are_refused(servers: dict[str, Server], name: str) -> None:
    with httpx.Client(base_url=servers[name].url, timeout=30, trust_env=False) as client:
        good = client.get("/abs")
        assert good.status_code == 200
        assert good.text == f"{servers[name].url}/abs"
        bad = client.get("/abs", headers={"host": "attacker.example"})
        assert bad.status_code == 400
        assert "attacker.example" not in bad.text
        assert json.loads(bad.text)["detail"] == "Invalid host header"


@pytest.mark.parametrize("name", NAMES)
def test_html_pages_carry_the_security_headers(servers: dict[str, Server], name: str) -> None:
    with httpx.Client(base_url=servers[name].url, timeout=30, trust_env=False) as client:
        page = client.get("/page")
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "same-origin"
        assert "x-frame-options" not in client.get("/data").headers


@pytest.mark.parametrize("name", NAMES)
def test_double_slash_paths_never_redirect_off_site(servers: dict[str, Server], name: str) -> None:
    with httpx.Client(base_url=servers[name].url, timeout=30, trust_env=False) as client:
        response = client.get("//attacker.example/")
        location = response.headers.get("location", "/")
        assert not location.startswith(("//", "/\\"))
