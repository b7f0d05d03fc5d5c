"""The admin renders with the app's plait.templates when there is one: projects override its
templates by name, as in Django; without app templates it renders with its own."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from admin_harness import (
    CSRF_TOKEN,
    FakeAuthAndCSRF,
    Story,
    Who,
    Writer,
    add_writer,
    make_app,
    serve,
)
from jinja2 import PackageLoader

from plait import App, Request
from plait.admin import Admin
from plait.db import Database, crud_router
from plait.templates import Templates
from plait.testing import TestClient

HIDDEN = f'<input type="hidden" name="csrf_token" value="{CSRF_TOKEN}">'


def write(directory: Path, name: str, text: str) -> None:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def story_form(writer: int, **fields: str) -> dict[str, str]:
    form = {"title": "Hello", "body": "Body", "views": "0", "mood": "calm"}
    return {**form, "writer_id": str(writer), **fields}


def test_a_project_base_site_rebrands_every_admin_page(db_url: str, tmp_path: Path) -> None:
    write(
        tmp_path,
        "admin/base_site.html",
        '{% extends "admin/base.html" %}'
        "{% block title %}{{ title }} | Newsroom{% endblock %}"
        '{% block branding %}<a class="brand" href="{{ index_url }}">Newsroom</a>{% endblock %}',
    )
    app, db, _ = make_app(db_url)
    Templates(app, tmp_path)  # after Admin(app, ...): found at start-up
    with serve(app, db) as client:
        writer = add_writer(client, "Ann")
        pages = ["/admin/", "/admin/story/", "/admin/story/add/", f"/admin/writer/{writer}/change/"]
        for url in pages:
            html = client.get(url).text
            assert '<a class="brand" href="/admin/">Newsroom</a>' in html, url
            assert re.search(r"<title>[^<]+ \| Newsroom</title>", html), url
            assert 'class="brand" href="/admin/">Administration' not in html
        # The rest of the admin is unchanged: the forms work and carry the token.
        html = client.get("/admin/story/add/").text
        assert html.count("<form") == html.count(HIDDEN) == 1
        response = client.post("/admin/story/add/", data=story_form(writer))
        assert response.status_code == 303, response.text
        listing = client.get("/admin/story/").text
        assert 'href="/admin/story/1/change/">Hello</a></th><td>Ann</td>' in listing
        # An invalid form is shown again, through the project's templates too.
        html = client.post("/admin/story/add/", data=story_form(writer, views="many")).text
        assert "Newsroom</a>" in html
        assert 'class="error" id="id_views_error"' in html


def test_a_project_base_html_replaces_the_admins(db_url: str, tmp_path: Path) -> None:
    write(
        tmp_path,
        "admin/base.html",
        "<!doctype html><title>{{ title }}</title><h6>Our own frame</h6>"
        "{% block content %}{% endblock %}",
    )
    app = App()
    templates = Templates(app, tmp_path)  # before Admin(app, ...)
    db = Database(app, db_url)
    admin = Admin(app, db, csrf_required=False)
    admin.register(Writer)
    app.include_router(crud_router(Writer, prefix="/api/writers"))
    app.add_middleware(FakeAuthAndCSRF, who=Who)
    with serve(app, db) as client:
        add_writer(client, "Ann")
        html = client.get("/admin/writer/").text
        assert html.startswith("<!doctype html><title>Select writer to change</title>")
        assert "<h6>Our own frame</h6>" in html
        assert 'href="/admin/writer/1/change/">Ann</a>' in html  # the admin's change_list.html
        assert 'class="site-header"' not in html
    assert admin.templates is templates


def test_the_admin_sees_the_projects_context_processors_and_globals(
    db_url: str, tmp_path: Path
) -> None:
    write(
        tmp_path,
        "admin/base_site.html",
        '{% extends "admin/base.html" %}'
        "{% block footer %}<footer>{{ release }} for {{ current_user.username }}"
        "{{ csrf_input() }}</footer>{% endblock %}",
    )
    app, db, _ = make_app(db_url)
    templates = Templates(app, tmp_path)

    @templates.context_processor
    def release(request: Request) -> dict[str, Any]:
        return {"release": "v2"}

    with serve(app, db) as client:
        html = client.get("/admin/").text
        assert f"<footer>v2 for ada{HIDDEN}</footer>" in html


def test_without_app_templates_the_admin_renders_with_its_own(db_url: str) -> None:
    app, db, admin = make_app(db_url)
    with serve(app, db) as client:
        html = client.get("/admin/story/add/").text
        assert '<a class="brand" href="/admin/">Administration</a>' in html
        assert html.count(HIDDEN) == 1
    # Nothing was attached to the app: the project may still add Templates(app).
    with pytest.raises(RuntimeError, match="This app has no templates"):
        Templates.of(app)
    assert admin.templates.directories == []
    Templates(app)


def test_the_package_is_added_once_per_app(db_url: str, tmp_path: Path) -> None:
    app, db, admin = make_app(db_url)
    other = Admin(app, db, prefix="/staff", name="staff", csrf_required=False)
    other.register(Story)
    templates = Templates(app, tmp_path)
    for _ in range(2):  # started twice
        with serve(app, db) as client:
            assert client.get("/admin/").status_code == 200
            assert client.get("/staff/story/").status_code == 200

    def admin_loaders() -> list[PackageLoader]:
        return [
            loader
            for loader in templates.loader.loaders
            if isinstance(loader, PackageLoader) and loader.package_name == "plait.admin"
        ]

    assert len(admin_loaders()) == 1
    assert admin.templates is other.templates is templates


def test_a_request_before_start_up_still_renders(db_url: str, tmp_path: Path) -> None:
    write(
        tmp_path,
        "admin/base_site.html",
        '{% extends "admin/base.html" %}{% block footer %}<footer>early</footer>{% endblock %}',
    )
    # No history: its recent actions would open a connection no shutdown closes.
    app, _, _ = make_app(db_url, history=False)
    Templates(app, tmp_path)
    # A server that does not run the lifespan: the admin finds the templates on first use.
    client = TestClient(app, follow_redirects=False)
    assert "<footer>early</footer>" in client.get("/admin/").text


def test_app_templates_without_autoescaping_stop_the_start_up(tmp_path: Path) -> None:
    app = App()
    Templates(app, tmp_path, autoescape=lambda name: not (name or "").startswith("admin/"))
    Admin(app, Database(app, "sqlite+aiosqlite://"), csrf_required=False)
    with (
        pytest.raises(RuntimeError, match=r"would not autoescape 'admin/.*needs escaping"),
        TestClient(app),
    ):
        pass  # pragma: no cover


def test_values_are_escaped_through_the_app_templates(db_url: str, tmp_path: Path) -> None:
    app, db, _ = make_app(db_url)
    Templates(app, tmp_path)
    with serve(app, db) as client:
        add_writer(client, "<script>alert(1)</script>")
        html = client.get("/admin/writer/").text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<script>" not in html
