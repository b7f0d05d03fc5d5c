"""The core never imports a battery: a hello app runs without loading any of them."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

BATTERIES = (
    "sqlalchemy",
    "pydantic",
    "jinja2",
    "alembic",
    "redis",
    "argon2",
    "granian",
    "opentelemetry",
    "prometheus_client",
    "taskiq",
)

SCRIPT = textwrap.dedent(
    """
    import json
    import sys

    import plait
    import plait.testing
    from plait import App
    from plait.testing import TestClient

    app = App()

    @app.get("/")
    def index():
        return "Hello, World!"

    @app.get("/items/{item_id:int}")
    async def item(item_id: int) -> dict:
        return {"item_id": item_id}

    with TestClient(app) as client:
        assert client.get("/").text == "Hello, World!"
        assert client.get("/items/3").json() == {"item_id": 3}
        assert client.get("/missing").status_code == 404

    batteries = sys.argv[1:]
    print(json.dumps(sorted(
        name for name in sys.modules if name.split(".")[0] in batteries
    )))
    """
)


def _batteries_loaded(prelude: str = "") -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", prelude + SCRIPT, *BATTERIES],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def test_hello_app_imports_no_battery() -> None:
    loaded = _batteries_loaded()
    assert loaded == [], f"the core imported batteries: {loaded}"


def test_the_check_itself_can_fail() -> None:
    # Guard against a vacuous test: a battery imported by the app is seen by the same check.
    assert "jinja2" in _batteries_loaded("import jinja2\n")
