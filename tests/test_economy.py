"""The code-economy CRUD apps (``bench/economy/*/crud/``) run and do the same thing.

``bench/count_lines.py`` counts their lines for ``docs/comparison.md``; this makes sure the
counted apps are working ones: each is driven through create, list, get, PATCH, delete, a
validation error, a 404 and its OpenAPI document, against a fresh SQLite file.

The plait apps run here. A peer's app needs its framework, which only ``bench/.venv`` has:
there it runs too (``bench/.venv/bin/python -m pytest tests/test_economy.py``), and here it
is skipped. Django configures itself once per process, so each Django app runs this module
in a child process (``python tests/test_economy.py <framework>``).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
ECONOMY = ROOT / "bench" / "economy"
COMPARISON = ROOT / "docs" / "comparison.md"

# call(method, url, json_body) -> (status, decoded JSON body or None)
Call = Callable[[str, str, Any], tuple[int, Any]]


@dataclass(frozen=True)
class Spec:
    framework: str
    needs: tuple[str, ...]  # import names the app needs beside plait
    collection: str  # the list/create URL
    item: str  # the item URL, with {id}
    openapi: str  # where the OpenAPI document is served


SPECS = [
    Spec("plait", (), "/posts", "/posts/{id}", "/openapi.json"),
    Spec("plait-handlers", (), "/posts", "/posts/{id}", "/openapi.json"),
    Spec("fastapi", ("fastapi", "sqlmodel"), "/posts/", "/posts/{id}", "/openapi.json"),
    Spec(
        "litestar",
        ("litestar", "advanced_alchemy"),
        "/posts",
        "/posts/{id}",
        "/schema/openapi.json",
    ),
    Spec(
        "starlette",
        ("starlette", "pydantic", "yaml"),
        "/posts",
        "/posts/{id}",
        "/schema",
    ),
    Spec("blacksheep", ("blacksheep", "pydantic"), "/posts", "/posts/{id}", "/openapi.json"),
    Spec(
        "flask",
        ("flask", "flask_sqlalchemy", "flask_smorest"),
        "/posts/",
        "/posts/{id}",
        "/openapi.json",
    ),
    Spec(
        "django",
        ("django", "rest_framework", "drf_spectacular"),
        "/api/posts/",
        "/api/posts/{id}/",
        "/api/schema/?format=json",
    ),
    Spec(
        "django-ninja",
        ("django", "ninja"),
        "/api/posts",
        "/api/posts/{id}",
        "/api/openapi.json",
    ),
]
BY_NAME = {spec.framework: spec for spec in SPECS}


def items_of(page: Any) -> list[dict[str, Any]]:
    """The rows of a list response, whichever envelope the framework's pagination uses."""
    if isinstance(page, list):
        return page
    for key in ("items", "results"):
        if key in page:
            rows: list[dict[str, Any]] = page[key]
            return rows
    raise AssertionError(f"no rows in {page!r}")


def scenario(spec: Spec, call: Call) -> None:
    """The same requests, and the same answers, for every framework."""
    status, created = call("POST", spec.collection, {"title": "Hello", "body": "World"})
    assert status == 201, created
    assert created["title"] == "Hello"
    assert created["body"] == "World"
    assert created["published"] is False
    url = spec.item.format(id=created["id"])
    status, second = call("POST", spec.collection, {"title": "Two", "body": "2"})
    assert status == 201, second
    assert second["id"] != created["id"]

    status, error = call("POST", spec.collection, {"body": "no title"})
    assert status in (400, 422), error
    status, error = call("POST", spec.collection, {"title": "x" * 201, "body": "too long"})
    assert status in (400, 422), error

    status, page = call("GET", spec.collection, None)
    assert status == 200, page
    assert [row["title"] for row in items_of(page)] == ["Hello", "Two"]

    assert call("GET", url, None) == (200, created)

    status, patched = call("PATCH", url, {"published": True})
    assert status == 200, patched
    assert patched == {**created, "published": True}
    assert call("GET", url, None) == (200, patched)

    status, _ = call("DELETE", url, None)
    assert status == 204
    assert call("GET", url, None)[0] == 404
    assert call("PATCH", url, {"published": False})[0] == 404
    assert call("DELETE", url, None)[0] == 404
    status, page = call("GET", spec.collection, None)
    assert [row["title"] for row in items_of(page)] == ["Two"]

    status, schema = call("GET", spec.openapi, None)
    assert status == 200
    assert any("posts" in path for path in schema["paths"]), schema["paths"]


def load(spec: Spec, filename: str) -> ModuleType:
    """Import ``economy/<framework>/crud/<filename>`` under a name of its own."""
    app_dir = ECONOMY / spec.framework / "crud"
    name = f"economy_{spec.framework.replace('-', '_')}_crud"
    module_spec = importlib.util.spec_from_file_location(name, app_dir / filename)
    assert module_spec is not None
    assert module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    try:
        with warnings.catch_warnings():
            if not spec.framework.startswith("plait"):
                # A peer's packages may deprecate each other's APIs on import (advanced-alchemy
                # on SQLAlchemy 2.1): theirs to fix, not a fault of the app counted here.
                warnings.simplefilter("ignore", DeprecationWarning)
            module_spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def decode(content_type: str, content: bytes) -> Any:
    """A response body as data: JSON, or the YAML of Starlette's ``OpenAPIResponse``."""
    if not content:
        return None
    if "json" in content_type:
        return json.loads(content)
    if "openapi" in content_type:  # needs PyYAML, as Starlette's schemas do
        return importlib.import_module("yaml").safe_load(content)
    return None  # an error page in text


def _httpx_call(client: Any) -> Call:
    """For plait's ``TestClient``, which drives any ASGI app (lifespan included)."""

    def call(method: str, url: str, body: Any) -> tuple[int, Any]:
        response = client.request(method, url, json=body)
        return response.status_code, decode(
            response.headers.get("content-type", ""), response.content
        )

    return call


@contextmanager
def plait_app(spec: Spec, database: Path) -> Iterator[Call]:
    from plait.db import Model
    from plait.testing import TestClient

    os.environ["PLAIT_DATABASE_URL"] = f"sqlite+aiosqlite:///{database}"
    try:
        module = load(spec, "app.py")
        with TestClient(module.app) as client:
            yield _httpx_call(client)
    finally:
        del os.environ["PLAIT_DATABASE_URL"]
        # Both plait apps define ``Post``: forget this one's table so the other can.
        table = Model.metadata.tables.get("post")
        if table is not None:
            Model.metadata.remove(table)


@contextmanager
def fastapi_app(spec: Spec, database: Path) -> Iterator[Call]:
    from plait.testing import TestClient

    module = load(spec, "main.py")
    try:
        with TestClient(module.app) as client:
            yield _httpx_call(client)
    finally:
        module.engine.dispose()


@contextmanager
def asgi_app(spec: Spec, database: Path) -> Iterator[Call]:
    """An ASGI app in ``app.py`` that opens its SQLite file in the working directory."""
    from plait.testing import TestClient

    module = load(spec, "app.py")
    with TestClient(module.app) as client:
        yield _httpx_call(client)


@contextmanager
def flask_app(spec: Spec, database: Path) -> Iterator[Call]:
    os.environ["FLASK_SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{database}"
    try:
        module = load(spec, "app.py")
    finally:
        del os.environ["FLASK_SQLALCHEMY_DATABASE_URI"]
    client = module.app.test_client()

    def call(method: str, url: str, body: Any) -> tuple[int, Any]:
        response = client.open(url, method=method, json=body)
        return response.status_code, response.get_json(silent=True)

    try:
        yield call
    finally:
        with module.app.app_context():
            module.db.engine.dispose()


@contextmanager
def django_app(spec: Spec, database: Path) -> Iterator[Call]:
    """Runs in a child process: Django can be set up once per process."""
    import django
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections
    from django.test import Client
    from django.test.utils import setup_test_environment

    sys.path.insert(0, str(ECONOMY / spec.framework / "crud"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "crud.settings"
    settings.DATABASES["default"]["NAME"] = database
    django.setup()
    setup_test_environment()
    call_command("migrate", verbosity=0)
    client = Client()

    def call(method: str, url: str, body: Any) -> tuple[int, Any]:
        data = json.dumps(body) if body is not None else None
        response = client.generic(method, url, data or "", content_type="application/json")
        return response.status_code, decode(response.get("Content-Type", ""), response.content)

    try:
        yield call
    finally:
        connections.close_all()


RUNNERS = {
    "plait": plait_app,
    "plait-handlers": plait_app,
    "fastapi": fastapi_app,
    "litestar": asgi_app,
    "starlette": asgi_app,
    "blacksheep": asgi_app,
    "flask": flask_app,
    "django": django_app,
    "django-ninja": django_app,
}


@pytest.mark.parametrize("spec", SPECS, ids=[spec.framework for spec in SPECS])
def test_crud_app(spec: Spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = [name for name in spec.needs if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(
            f"{spec.framework} needs {', '.join(missing)}: only bench/.venv has it"
            " (bench/.venv/bin/python -m pytest tests/test_economy.py)"
        )
    monkeypatch.chdir(tmp_path)  # apps that name a relative SQLite file create it here
    database = tmp_path / "posts.sqlite3"
    if spec.framework.startswith("django"):
        child = subprocess.run(
            [sys.executable, "-W", "error", __file__, spec.framework, str(database)],
            capture_output=True,
            text=True,
            timeout=100,
            check=False,
        )
        assert child.returncode == 0, child.stdout + child.stderr
        assert child.stdout.strip() == "ok"
        return
    with RUNNERS[spec.framework](spec, database) as call:
        scenario(spec, call)
    assert database.exists()  # the app used the file it was given


def test_the_scenario_can_fail() -> None:
    """A broken app fails the scenario: here, one that forgets what it stored."""

    def forgetful(method: str, url: str, body: Any) -> tuple[int, Any]:
        if method == "POST":
            return 201, {"id": 1, "published": False, **body}
        return 404, None

    with pytest.raises(AssertionError):
        scenario(BY_NAME["plait"], forgetful)


def _count_lines() -> ModuleType:
    module_spec = importlib.util.spec_from_file_location(
        "count_lines", ROOT / "bench" / "count_lines.py"
    )
    assert module_spec is not None
    assert module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules["count_lines"] = module  # dataclasses look their module up
    try:
        module_spec.loader.exec_module(module)
    finally:
        del sys.modules["count_lines"]
    return module


def test_the_comparison_shows_the_current_counts() -> None:
    """docs/comparison.md holds what ``bench/count_lines.py --write`` writes today."""
    counter = _count_lines()
    text = COMPARISON.read_text()
    table = text.split(counter.START, 1)[1].split(counter.END, 1)[0]
    assert table.strip() == counter.markdown(counter.count_all()).strip(), (
        "the code-economy table is stale: run python bench/count_lines.py --write"
    )


@pytest.mark.parametrize("framework", ["plait", "plait-handlers"])
def test_the_comparison_shows_the_plait_apps_as_counted(framework: str) -> None:
    source = (ECONOMY / framework / "crud" / "app.py").read_text()
    assert f"```python\n{source}```" in COMPARISON.read_text()


def test_the_counter_counts_code_not_comments() -> None:
    counter = _count_lines()
    source = '"""Docstring."""\n\n# a comment\nimport os  # typed\n\nx = (\n    1,\n)\n'
    assert counter.python_lines(source) == 4
    assert counter.typed_lines(source) == 1
    names = counter.framework_names(
        ["from flask import Flask\nimport os\napp = Flask(__name__)\napp.get\nos.sep\n"],
        {"flask"},
    )
    assert names == {"flask.Flask", "flask.Flask().get"}
    assert counter.installed_packages(["import os, flask\nfrom app import x\n"], {"app"}) == {
        "flask"
    }


if __name__ == "__main__":  # the child process of a Django app's test
    framework, path = sys.argv[1:]
    with django_app(BY_NAME[framework], Path(path)) as django_call:
        scenario(BY_NAME[framework], django_call)
    print("ok")
