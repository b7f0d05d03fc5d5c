"""docs/zero-to-production.md, run: every ``$`` line in order in one shell, the model it shows
written where it says, then the server it starts, asked through the "proxy" headers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from _docs import DOCS
from _servers import running

PAGE = DOCS / "zero-to-production.md"
BLOCK = re.compile(r"^```(console|python)\n(.*?)^```", re.MULTILINE | re.DOTALL)
BIN = Path(sys.executable).parent


def script(page: Path) -> tuple[str, str]:
    """The page as one bash script (the model block written to shop/models.py), and the last
    command, which starts the server."""
    lines = ["set -euo pipefail"]
    for kind, body in BLOCK.findall(page.read_text()):
        if kind == "python":
            lines.append(f"cat > shop/models.py <<'PYTHON'\n{body}PYTHON")
            continue
        lines.extend(line[2:] for line in body.splitlines() if line.startswith("$ "))
    serve = lines.pop()
    assert serve.startswith("plait run "), serve
    assert serve.endswith(" &"), serve
    lines.append('env -0 > "$ENV_DUMP"')  # the environment the steps exported
    return "\n".join(lines), serve.removesuffix(" &")


def test_the_page_runs_from_zero_to_a_served_app(tmp_path: Path) -> None:
    steps, serve = script(PAGE)
    assert steps.count("plait ") >= 6
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLAIT_", "PYTEST_"))}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",  # the project's suite needs no plugin
        ENV_DUMP=str(tmp_path / "env"),
    )
    done = subprocess.run(
        ["bash", "-c", steps], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    output = done.stdout + done.stderr
    assert "Running upgrade 0001 -> " in output  # the migration the page made, applied
    assert "plait check: no problems found (deploy checks)" in output
    assert "Collected 1 file(s) from 1 folder(s) into staticfiles" in output
    project = tmp_path / "shop"
    assert len(list((project / "migrations" / "versions").glob("*add_summary.py"))) == 1

    exported = dict(
        item.split("=", 1) for item in (tmp_path / "env").read_text().split("\0") if "=" in item
    )
    production = {k: v for k, v in exported.items() if k.startswith("PLAIT_")}
    assert production["PLAIT_DEBUG"] == "0"

    def command(port: int) -> list[str]:
        args = serve.replace("--port 8000", f"--port {port}").split()
        return ["env", *(f"{k}={v}" for k, v in production.items()), str(BIN / args[0]), *args[1:]]

    with running({"shop": command}, cwd=project, timeout=60) as servers:
        proxied = {"Host": "shop.example.com", "X-Forwarded-Proto": "https"}
        with httpx.Client(base_url=servers["shop"].url, headers=proxied) as client:
            page = client.get("/")
            assert "No posts yet." in page.text
            assert page.headers["strict-transport-security"].startswith("max-age=")
            stylesheet = re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', page.text)
            assert stylesheet is not None, page.text  # the collected, hashed name
            css = client.get(stylesheet[1])
            assert css.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert client.get("/docs").status_code == 404  # off in production
            # Plain HTTP (no forwarded https) is sent to HTTPS.
            plain = client.get("/", headers={"X-Forwarded-Proto": "http"})
            assert plain.status_code == 308
            assert plain.headers["location"] == "https://shop.example.com/"
