"""Every ``examples/*/app.py`` imports and answers its documented routes."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from plait import App
from plait._routing import Route
from plait.testing import TestClient

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
APPS = sorted(EXAMPLES.glob("*/app.py"))

# example name -> (method, path, status, body text) checks; keep in step with examples/README.md.
# An example missing here still gets the generic checks below (and usually tests of its own).
EXPECTED: dict[str, list[tuple[str, str, int, str | None]]] = {
    "hello": [
        ("GET", "/", 200, "Hello, World!"),
        ("HEAD", "/", 200, ""),
        ("POST", "/", 405, ""),
        ("GET", "/missing", 404, ""),
    ],
    "bookmarks": [
        ("GET", "/", 401, ""),  # an API client; a browser is sent to the log-in page
        ("GET", "/api/bookmarks", 401, ""),
        ("GET", "/accounts/login", 200, None),
        ("GET", "/missing", 404, ""),
    ],
    "conduit": [
        ("GET", "/api/articles", 200, '{"articles":[],"articlesCount":0}'),
        ("GET", "/api/tags", 200, '{"tags":[]}'),
        ("GET", "/api/user", 401, ""),
        ("GET", "/api/articles/missing", 404, ""),
        ("GET", "/api/docs", 200, None),
    ],
    "notes": [
        ("GET", "/notes", 200, '{"items":[],"total":0,"page":1,"size":20,"pages":0}'),
        ("GET", "/notes/1", 404, ""),
        (
            "GET",
            "/notes?sort=-created_at",
            200,
            '{"items":[],"total":0,"page":1,"size":20,"pages":0}',
        ),
        (
            "GET",
            "/notes?sort=created_at&pinned=true",
            200,
            '{"items":[],"total":0,"page":1,"size":20,"pages":0}',
        ),
    ],
}


def load_example(app_file: Path) -> ModuleType:
    """Import an example under a name of its own, with its directory on ``sys.path``."""
    name = f"plait_example_{app_file.parent.name}"
    for stem in {path.stem for path in app_file.parent.glob("*.py")}:
        found = sys.modules.get(stem)
        if found is not None and Path(getattr(found, "__file__", None) or "").parent != (
            app_file.parent
        ):
            del sys.modules[stem]  # another directory's module of that name: not the example's
    spec = importlib.util.spec_from_file_location(name, app_file)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(params=APPS, ids=lambda path: path.parent.name)
def example(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[tuple[str, App]]:
    app_file: Path = request.param
    monkeypatch.syspath_prepend(str(app_file.parent))
    monkeypatch.chdir(tmp_path)  # files an example writes (a SQLite database) land here
    before = set(sys.modules)
    module = load_example(app_file)
    assert isinstance(module.app, App), f"{app_file} must define `app = App()`"
    yield app_file.parent.name, module.app
    for name in set(sys.modules) - before:  # the example's own modules, not libraries
        file = getattr(sys.modules[name], "__file__", None) or ""
        if name == module.__name__ or file.startswith(str(app_file.parent)):
            del sys.modules[name]


def test_there_are_examples() -> None:
    assert "hello" in {path.parent.name for path in APPS}


def test_documented_examples_exist_and_are_listed() -> None:
    assert set(EXPECTED) <= {path.parent.name for path in APPS}
    readme = (EXAMPLES / "README.md").read_text()
    for name in EXPECTED:
        assert f"[`{name}/`]({name}/app.py)" in readme


@pytest.mark.parametrize(
    "example", [EXAMPLES / name / "app.py" for name in EXPECTED], ids=list(EXPECTED), indirect=True
)
def test_example_answers_its_documented_routes(example: tuple[str, App]) -> None:
    name, app = example
    with TestClient(app) as client:
        for method, path, status, text in EXPECTED[name]:
            response = client.request(method, path)
            assert response.status_code == status, (method, path, response.text)
            if status < 400 and text is not None:  # None: any body
                assert response.text == text, (method, path)


def test_example_get_routes_without_parameters_do_not_fail(example: tuple[str, App]) -> None:
    _, app = example
    paths = [
        route.path
        for route in app.routes
        if isinstance(route, Route) and "GET" in route.methods and "{" not in route.path
    ]
    assert paths, "an example should have at least one plain GET route"
    with TestClient(app) as client:
        for path in paths:
            assert client.get(path).status_code < 500, path


@pytest.mark.parametrize("example", [EXAMPLES / "notes" / "app.py"], ids=["notes"], indirect=True)
def test_the_demo_address_leads_to_the_docs(example: tuple[str, App]) -> None:
    _, app = example
    with TestClient(app) as client:
        response = client.get("/", follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (307, "/docs")
        assert client.get("/").status_code == 200
