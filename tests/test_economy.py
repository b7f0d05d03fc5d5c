"""The code-economy apps (``bench/economy/*/crud/`` and ``*/blog/``) run and do the same thing.

``bench/count_lines.py`` counts their lines for ``docs/comparison.md``; this makes sure the
counted apps are working ones. Each CRUD app is driven through create, list, get, PATCH,
delete, a validation error, a 404 and its OpenAPI document, against a fresh SQLite file.
Each blog is driven like a browser through sign-up, login, posts, comments, CSRF refusals,
escaping, logout and its admin, against a fresh SQLite file too.

The plait apps and the peers' apps run here: the ``peers`` extra (part of ``dev``, which
``make test`` installs) brings their frameworks. Where one is missing its tests skip, and
under CI (``PLAIT_REQUIRE_SERVICES=1``) they fail instead. Django configures itself once per
process, so each Django app runs this module in a child process
(``python tests/test_economy.py <app> <framework> <database>``).
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import itertools
import json
import os
import re
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest

from _services import service_unavailable

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


def import_file(path: Path, name: str, *, peer: bool) -> ModuleType:
    """Import ``path`` as the module ``name`` (kept in ``sys.modules``, as apps expect)."""
    module_spec = importlib.util.spec_from_file_location(name, path)
    assert module_spec is not None
    assert module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    try:
        with warnings.catch_warnings():
            if peer:
                # A peer's packages may deprecate each other's APIs on import (advanced-alchemy
                # on SQLAlchemy 2.1): theirs to fix, not a fault of the app counted here.
                warnings.simplefilter("ignore", DeprecationWarning)
            module_spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def load(spec: Spec, filename: str) -> ModuleType:
    """Import ``economy/<framework>/crud/<filename>`` under a name of its own."""
    name = f"economy_{spec.framework.replace('-', '_')}_crud"
    path = ECONOMY / spec.framework / "crud" / filename
    return import_file(path, name, peer=not spec.framework.startswith("plait"))


def skip_unless_installed(framework: str, needs: Sequence[str]) -> None:
    """Skip a peer's test where its packages are missing (CI has them: a failure there)."""
    missing = [name for name in needs if importlib.util.find_spec(name) is None]
    if missing:
        service_unavailable(
            framework, f"needs {', '.join(missing)}: pip install -e '.[dev]' (the peers extra)"
        )


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
    from sqlmodel import SQLModel

    from plait.testing import TestClient

    module = load(spec, "main.py")
    try:
        with TestClient(module.app) as client:
            yield _httpx_call(client)
    finally:
        module.engine.dispose()
        # SQLModel's metadata is global: forget this app's table so the blog can define its own.
        SQLModel.metadata.remove(module.Post.__table__)


@contextmanager
def asgi_app(spec: Spec, database: Path) -> Iterator[Call]:
    """An ASGI app in ``app.py`` that opens its SQLite file in the working directory."""
    from plait.testing import TestClient

    if spec.framework == "blacksheep":
        _release_blacksheep_router()
    try:
        module = load(spec, "app.py")
        with TestClient(module.app) as client:
            yield _httpx_call(client)
    finally:
        if spec.framework == "blacksheep":
            _release_blacksheep_router()


def _release_blacksheep_router() -> None:
    """BlackSheep's route decorators fill one default router per process, and it refuses a
    second ``Application`` on it: the bench app (tests/test_bench_apps.py) and this one both
    use it. Forget the claim, so each can be made in the same test run (their paths differ)."""
    routing = sys.modules.get("blacksheep.server.routing")
    if routing is not None:
        routing._apps_by_router_id.pop(id(routing.router), None)


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
def django_setup(app_dir: Path, database: Path) -> None:
    """Configure the Django project in ``app_dir`` on ``database`` and migrate it."""
    import django
    from django.conf import settings
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    sys.path.insert(0, str(app_dir))
    os.environ["DJANGO_SETTINGS_MODULE"] = f"{app_dir.name}.settings"
    settings.DATABASES["default"]["NAME"] = database
    django.setup()
    setup_test_environment()
    call_command("migrate", verbosity=0)


@contextmanager
def django_app(spec: Spec, database: Path) -> Iterator[Call]:
    """Runs in a child process: Django can be set up once per process."""
    from django.db import connections
    from django.test import Client

    django_setup(ECONOMY / spec.framework / "crud", database)
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
    skip_unless_installed(spec.framework, spec.needs)
    monkeypatch.chdir(tmp_path)  # apps that name a relative SQLite file create it here
    database = tmp_path / "posts.sqlite3"
    if spec.framework.startswith("django"):
        run_in_child("crud", spec.framework, database)
        return
    with RUNNERS[spec.framework](spec, database) as call:
        scenario(spec, call)
    assert database.exists()  # the app used the file it was given


def run_in_child(app: str, framework: str, database: Path) -> None:
    """Run ``app``'s scenario for a Django ``framework`` in a fresh interpreter."""
    child = subprocess.run(
        [sys.executable, "-W", "error", __file__, app, framework, str(database)],
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert child.returncode == 0, child.stdout + child.stderr
    assert child.stdout.strip() == "ok"


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


def test_the_counter_counts_html_templates(tmp_path: Path) -> None:
    counter = _count_lines()
    app_dir = tmp_path / "flask" / "blog"
    (app_dir / "templates").mkdir(parents=True)
    (app_dir / "app.py").write_text("from flask import Flask\n\napp = Flask(__name__)\n")
    (app_dir / "templates" / "base.html").write_text("<!doctype html>\n\n<p>{{ x }}</p>\n")
    (app_dir / "style.css").write_text("p {}\n")
    (app_dir / "requirements.txt").write_text("flask\n")
    [count] = counter.count_all(tmp_path)
    assert (count.python_lines, count.html_lines, count.other_lines, count.files) == (2, 2, 1, 3)
    assert "| HTML lines | other lines |" in counter.markdown([count])


# -- the blog ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    status: int
    location: str  # a redirect's target as a path (with its query), or ""
    text: str


# browse(method, url, form data or None) -> the response, redirects not followed
Browse = Callable[[str, str, dict[str, str] | None], Page]
# make_staff(username, password): a user the framework's admin lets in
MakeStaff = Callable[[str, str], None]


@dataclass(frozen=True)
class BlogSpec:
    framework: str
    needs: tuple[str, ...]  # import names the app needs beside plait
    signup: str
    login: str
    logout: str  # a link (GET), or a form (POST) where the framework's docs make it one
    logout_method: str
    create: str
    comment: str  # the comment form's target, with {id}
    admin: str  # the admin's list of posts
    csrf_field: str  # the hidden field that carries the CSRF token
    password_fields: tuple[str, str]  # sign-up's password and its repetition


BLOG_SPECS = [
    BlogSpec(
        "plait",
        (),
        signup="/signup",
        login="/login",
        logout="/logout",
        logout_method="POST",
        create="/posts/new",
        comment="/posts/{id}/comments",
        admin="/admin/post/",
        csrf_field="csrf_token",
        password_fields=("password1", "password2"),
    ),
    BlogSpec(
        "flask",
        ("flask", "flask_sqlalchemy", "flask_login", "flask_wtf", "flask_admin"),
        signup="/auth/register",
        login="/auth/login",
        logout="/auth/logout",
        logout_method="GET",
        create="/create",
        comment="/posts/{id}/comment",
        admin="/admin/post/",
        csrf_field="csrf_token",
        password_fields=("password", "confirm"),
    ),
    BlogSpec(
        "fastapi",
        ("fastapi", "sqlmodel", "fastapi_csrf_protect", "pwdlib", "sqladmin", "itsdangerous"),
        signup="/signup",
        login="/login",
        logout="/logout",
        logout_method="GET",
        create="/posts/new",
        comment="/posts/{id}/comments",
        admin="/admin/post/list",
        csrf_field="csrf-token",
        password_fields=("password", "confirm"),
    ),
    BlogSpec(
        "django",
        ("django",),
        signup="/accounts/signup/",
        login="/accounts/login/",
        logout="/accounts/logout/",
        logout_method="POST",
        create="/posts/new/",
        comment="/posts/{id}/comment/",
        admin="/admin/posts/post/",
        csrf_field="csrfmiddlewaretoken",
        password_fields=("password1", "password2"),
    ),
]
BLOG_BY_NAME = {spec.framework: spec for spec in BLOG_SPECS}


def csrf_token(page: Page, field: str) -> str:
    """The value of the hidden CSRF field of the page's (last) form."""
    inputs = re.findall(rf'<input[^>]*name="{re.escape(field)}"[^>]*>', page.text)
    assert inputs, f"no {field} field in:\n{page.text}"
    value = re.search(r'value="([^"]*)"', inputs[-1])
    assert value is not None, inputs[-1]
    return value.group(1)


def blog_scenario(spec: BlogSpec, browse: Browse, make_staff: MakeStaff) -> None:
    """The same visits, and the same answers, for every framework."""

    def submit(url: str, data: dict[str, str], *, form_page: str | None = None) -> Page:
        """Open the page with the form (``url`` itself by default) and post it, token included."""
        page = browse("GET", form_page or url, None)
        assert page.status == 200, (form_page or url, page)
        return browse("POST", url, {spec.csrf_field: csrf_token(page, spec.csrf_field), **data})

    def follow(page: Page) -> Page:
        assert page.status in (302, 303), page
        return browse("GET", page.location, None)

    def refused(page: Page) -> bool:
        """Sent to a login page, or forbidden."""
        return page.status == 403 or (page.status in (302, 303) and "login" in page.location)

    password = "tulip-Harbour-93"
    first, again = spec.password_fields

    # sign-up: its errors are shown in the form; then the new user logs in
    page = submit(spec.signup, {"username": "alice", first: password, again: password + "!"})
    assert page.status == 200, page
    assert "match" in page.text, page.text
    page = follow(submit(spec.signup, {"username": "alice", first: password, again: password}))
    assert page.status == 200
    assert "Account created, please log in." in page.text
    page = submit(spec.signup, {"username": "alice", first: password, again: password})
    assert page.status == 200, page
    assert "already exists" in page.text, page.text

    page = browse("GET", spec.create, None)
    assert page.status in (302, 303), page
    assert urlsplit(page.location).path == spec.login, page

    page = submit(spec.login, {"username": "alice", "password": "not-" + password})
    assert page.status == 200, page  # the form again, not logged in
    page = follow(submit(spec.login, {"username": "alice", "password": password}))
    assert "New post" in page.text

    # posts: CSRF-protected, escaped, newest first
    page = browse("POST", spec.create, {"title": "No token", "body": "refused"})
    assert page.status in (400, 403), page
    page = submit(spec.create, {"title": "", "body": "no title"})
    assert page.status in (200, 400, 422), page
    page = follow(submit(spec.create, {"title": "First", "body": "The first post."}))
    assert "Your post was published." in page.text
    assert "The first post." in page.text
    page = submit(spec.create, {"title": "<script>alert(1)</script>", "body": "Tom & Jerry"})
    post_url = page.location
    post_id = re.findall(r"\d+", post_url)[-1]
    page = follow(page)
    assert page.status == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>" not in page.text
    assert "Tom &amp; Jerry" in page.text
    index = browse("GET", "/", None).text
    assert "<script>" not in index
    assert "No token" not in index
    assert "no title" not in index
    assert index.index("&lt;script&gt;alert(1)") < index.index("First")

    # comments
    comment_url = spec.comment.format(id=post_id)
    page = browse("POST", comment_url, {"body": "no token"})
    assert page.status in (400, 403), page
    page = follow(submit(comment_url, {"body": "Nice <b>post</b>"}, form_page=post_url))
    assert "Your comment was added." in page.text
    assert "Nice &lt;b&gt;post&lt;/b&gt;" in page.text
    assert "no token" not in page.text

    # the admin: not for a user who is not staff, nor for an anonymous one
    assert refused(browse("GET", spec.admin, None))
    if spec.logout_method == "POST":
        page = submit(spec.logout, {}, form_page="/")
    else:
        page = browse("GET", spec.logout, None)
    page = follow(page)
    assert "New post" not in page.text  # the layout's link for a logged-in user
    assert refused(browse("GET", spec.admin, None))
    page = browse("GET", spec.create, None)
    assert page.status in (302, 303), page
    assert "login" in page.location

    make_staff("boss", password)
    follow(submit(spec.login, {"username": "boss", "password": password}))
    page = browse("GET", spec.admin, None)
    assert page.status == 200, page
    assert "First" in page.text


@contextmanager
def imported(app_dir: Path, package: str) -> Iterator[ModuleType]:
    """Import ``package`` from ``app_dir``, and forget it afterwards."""

    def forget() -> None:
        for name in [name for name in sys.modules if name.split(".")[0] == package]:
            del sys.modules[name]

    forget()
    sys.path.insert(0, str(app_dir))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # as in load()
            module = importlib.import_module(package)
        yield module
    finally:
        sys.path.remove(str(app_dir))
        forget()


@contextmanager
def flask_blog(spec: BlogSpec, database: Path) -> Iterator[tuple[Browse, MakeStaff]]:
    os.environ["FLASK_SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{database}"
    with imported(ECONOMY / "flask" / "blog", "blog") as blog:
        try:
            app = blog.create_app()
        finally:
            del os.environ["FLASK_SQLALCHEMY_DATABASE_URI"]
        client = app.test_client()

        def browse(method: str, url: str, data: dict[str, str] | None) -> Page:
            response = client.open(url, method=method, data=data)
            location = urlsplit(response.headers.get("Location", ""))
            target = location.path + (f"?{location.query}" if location.query else "")
            return Page(response.status_code, target, response.get_data(as_text=True))

        def make_staff(username: str, password: str) -> None:
            from blog.models import User, db

            with app.app_context():
                user = User(username=username, is_admin=True)
                user.set_password(password)
                db.session.add(user)
                db.session.commit()

        try:
            yield browse, make_staff
        finally:
            with app.app_context():
                blog.models.db.engine.dispose()


@contextmanager
def fastapi_blog(spec: BlogSpec, database: Path) -> Iterator[tuple[Browse, MakeStaff]]:
    """The app opens ``blog.sqlite3`` in the working directory, which the test made ``tmp``."""
    from plait.testing import TestClient

    with (
        imported(ECONOMY / "fastapi" / "blog", "app"),
        TestClient(importlib.import_module("app.main").app) as client,
    ):
        from app.auth import password_hash
        from app.models import User, engine
        from sqlmodel import Session, SQLModel

        def browse(method: str, url: str, data: dict[str, str] | None) -> Page:
            response = client.request(method, url, data=data, follow_redirects=False)
            location = urlsplit(response.headers.get("location", ""))
            target = location.path + (f"?{location.query}" if location.query else "")
            return Page(response.status_code, target, response.text)

        def make_staff(username: str, password: str) -> None:
            with Session(engine) as session:
                hashed = password_hash.hash(password)
                session.add(User(username=username, hashed_password=hashed, is_admin=True))
                session.commit()

        try:
            yield browse, make_staff
        finally:
            engine.dispose()
            for table in SQLModel.metadata.sorted_tables[::-1]:  # as fastapi_app does
                if table.name in {"user", "post", "comment"}:
                    SQLModel.metadata.remove(table)


@contextmanager
def django_blog(spec: BlogSpec, database: Path) -> Iterator[tuple[Browse, MakeStaff]]:
    """Runs in a child process: Django can be set up once per process."""
    from django.core.management import call_command
    from django.db import connections
    from django.test import Client

    django_setup(ECONOMY / "django" / "blog", database)
    client = Client(enforce_csrf_checks=True)  # the test client skips CSRF checks otherwise

    def browse(method: str, url: str, data: dict[str, str] | None) -> Page:
        response = client.generic(method, url) if data is None else client.post(url, data)
        target = response.get("Location", "")
        return Page(response.status_code, target, response.content.decode())

    def make_staff(username: str, password: str) -> None:
        os.environ["DJANGO_SUPERUSER_PASSWORD"] = password
        try:
            call_command(
                "createsuperuser", interactive=False, username=username, email="", verbosity=0
            )
        finally:
            del os.environ["DJANGO_SUPERUSER_PASSWORD"]

    try:
        yield browse, make_staff
    finally:
        connections.close_all()


_LOADS = itertools.count()


@contextmanager
def plait_blog(spec: BlogSpec, database: Path) -> Iterator[tuple[Browse, MakeStaff]]:
    """Run from its own directory (``plait run app.py`` there finds ``templates/``)."""
    from plait.auth import User, hash_password
    from plait.db import Database, Model
    from plait.testing import TestClient

    app_dir = ECONOMY / "plait" / "blog"
    url = f"sqlite+aiosqlite:///{database}"
    environ = {"PLAIT_DATABASE_URL": url, "PLAIT_SECRET_KEY": "economy-" + "k" * 40}
    os.environ.update(environ)
    cwd = Path.cwd()
    os.chdir(app_dir)
    # A module name of its own each time: the models' classes stay in the declarative base.
    name = f"economy_plait_blog_{next(_LOADS)}"
    try:
        module = import_file(app_dir / "app.py", name, peer=False)
        # A browser: it asks for HTML, so a page that needs a login redirects to it.
        browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
        with TestClient(module.app, follow_redirects=False, headers=browser) as client:

            def browse(method: str, url: str, data: dict[str, str] | None) -> Page:
                response = client.request(method, url, data=data)
                location = urlsplit(response.headers.get("location", ""))
                target = location.path + (f"?{location.query}" if location.query else "")
                return Page(response.status_code, target, response.text)

            def make_staff(username: str, password: str) -> None:
                async def create() -> None:
                    db = Database(url=url)  # its own engine: the app's belongs to its loop
                    try:
                        async with db.transaction() as session:
                            hashed = hash_password(password)
                            # A superuser, as Django's createsuperuser makes: a plain
                            # staff user needs the admin's permissions.
                            session.add(
                                User(
                                    username=username,
                                    password=hashed,
                                    is_staff=True,
                                    is_superuser=True,
                                )
                            )
                    finally:
                        await db.disconnect()

                asyncio.run(create())

            yield browse, make_staff
    finally:
        sys.modules.pop(name, None)
        os.chdir(cwd)
        for key in environ:
            del os.environ[key]
        for table in ("comment", "post"):  # the crud apps define a `post` too
            if table in Model.metadata.tables:
                Model.metadata.remove(Model.metadata.tables[table])


BLOG_RUNNERS = {
    "plait": plait_blog,
    "flask": flask_blog,
    "fastapi": fastapi_blog,
    "django": django_blog,
}


@pytest.mark.parametrize("spec", BLOG_SPECS, ids=[spec.framework for spec in BLOG_SPECS])
def test_blog_app(spec: BlogSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    skip_unless_installed(spec.framework, spec.needs)
    monkeypatch.chdir(tmp_path)  # apps that name a relative SQLite file create it here
    database = tmp_path / "blog.sqlite3"
    if spec.framework.startswith("django"):
        run_in_child("blog", spec.framework, database)
        return
    with BLOG_RUNNERS[spec.framework](spec, database) as (browse, make_staff):
        blog_scenario(spec, browse, make_staff)
    assert database.exists()  # the app used the file it was given


@pytest.mark.parametrize("broken", ["autoescape", "csrf"])
@pytest.mark.parametrize("framework", ["plait", "flask"])
def test_the_blog_scenario_can_fail(
    framework: str, broken: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broken blog fails the scenario: without autoescaping, or without the CSRF refusal
    (plait's middleware exempting every path; Flask's forms checking their token, a 200 with
    the errors, but no `CSRFProtect` refusing the POST)."""
    spec = BLOG_BY_NAME[framework]
    skip_unless_installed(framework, spec.needs)
    monkeypatch.chdir(tmp_path)
    if framework == "plait" and broken == "autoescape":
        # The blog's own templates unescaped (the admin refuses to start without escaping).
        def admin_only(*args: object, **kwargs: object) -> Callable[[str | None], bool]:
            return lambda name: bool(name and name.startswith("admin/"))

        monkeypatch.setattr("jinja2.select_autoescape", admin_only)
    elif framework == "plait":
        monkeypatch.setattr(
            "plait.csrf._middleware.CSRFMiddleware._is_exempt", lambda self, scope: True
        )
    elif broken == "autoescape":
        monkeypatch.setattr("flask.Flask.select_jinja_autoescape", lambda self, filename: False)
    else:
        monkeypatch.setenv("FLASK_WTF_CSRF_CHECK_DEFAULT", "false")
    with (
        BLOG_RUNNERS[framework](spec, tmp_path / "blog.sqlite3") as (browse, make_staff),
        pytest.raises(AssertionError),
    ):
        blog_scenario(spec, browse, make_staff)


def test_every_blog_is_driven() -> None:
    """A blog added under bench/economy is counted, so it must be in BLOG_SPECS too."""
    written = {path.parent.name for path in ECONOMY.glob("*/blog")}
    assert written == set(BLOG_BY_NAME) == set(BLOG_RUNNERS)


if __name__ == "__main__":  # the child process of a Django app's test
    app, framework, path = sys.argv[1:]
    if app == "blog":
        with django_blog(BLOG_BY_NAME[framework], Path(path)) as (browse, make_staff):
            blog_scenario(BLOG_BY_NAME[framework], browse, make_staff)
    else:
        with django_app(BY_NAME[framework], Path(path)) as django_call:
            scenario(BY_NAME[framework], django_call)
    print("ok")
