"""examples/bookmarks, as its users use it, on SQLite and PostgreSQL: sign-up and log-in,
bookmarks with tags through the HTML pages (forms, CSRF, flash messages, error pages), the
JSON API, and the admin."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from plait import App
from plait.auth import User
from plait.db import Database
from plait.testing import TestClient
from test_examples import load_example

BOOKMARKS = Path(__file__).resolve().parent.parent / "examples" / "bookmarks" / "app.py"
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
PASSWORD = "correct horse battery"


def load_bookmarks(url: str, monkeypatch: pytest.MonkeyPatch) -> App:
    """Import the example with its database at ``url`` (never a file in the repository)."""
    monkeypatch.setenv("PLAIT_DATABASE_URL", url)
    app: App = load_example(BOOKMARKS).app
    return app


@pytest.fixture
def app(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> App:
    monkeypatch.chdir(tmp_path)
    return load_bookmarks(db_url, monkeypatch)


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(app, headers=BROWSER) as test_client:
        yield test_client


def sign_up(client: TestClient, username: str) -> None:
    form = {"username": username, "password1": PASSWORD, "password2": PASSWORD}
    page = client.post_form("/accounts/signup", form)
    assert page.url.path == "/accounts/login", page.text
    assert "Account created, please log in." in page.text
    home = client.post_form("/accounts/login", {"username": username, "password": PASSWORD})
    assert home.url.path == "/", home.text


def titles(html: str) -> list[str]:
    return re.findall(r'<a href="[^"]*" rel="noopener">([^<]*)</a>', html)


def test_pages_sign_up_add_edit_filter_and_delete(client: TestClient) -> None:
    anonymous = client.get("/", follow_redirects=False)
    assert (anonymous.status_code, anonymous.headers["location"]) == (303, "/accounts/login?next=/")
    sign_up(client, "ada")

    bad = client.post_form("/bookmarks/new", {"url": "not a url", "title": ""})
    assert "Enter a valid URL." in bad.text
    assert "This field is required." in bad.text
    saved = client.post_form(
        "/bookmarks/new", {"url": "docs.python.org", "title": "Python", "tags": "python, web"}
    )
    assert "Bookmark saved." in saved.text
    assert titles(saved.text) == ["Python"]
    assert 'href="https://docs.python.org"' in saved.text  # Django's assume_scheme
    client.post_form(
        "/bookmarks/new", {"url": "https://plait.dev", "title": "plait", "tags": "web"}
    )
    assert titles(client.get("/").text) == ["plait", "Python"]
    assert titles(client.get("/?tag=python").text) == ["Python"]

    first = re.search(r'href="/bookmarks/(\d+)/edit"', client.get("/?tag=python").text)
    assert first is not None
    edit = client.get(f"/bookmarks/{first[1]}/edit").text
    assert 'value="python, web"' in edit  # the tags, as text
    edited = client.post_form(
        f"/bookmarks/{first[1]}/edit", {"url": "https://docs.python.org/3/", "title": "Docs"}
    )
    assert "Bookmark updated." in edited.text
    assert titles(client.get("/?tag=python").text) == []  # no tags given: none kept

    deleted = client.post_form(f"/bookmarks/{first[1]}/delete", {}, page="/")
    assert "Bookmark deleted." in deleted.text
    assert titles(deleted.text) == ["plait"]
    assert client.post(f"/bookmarks/{first[1]}/delete").status_code == 403  # no CSRF token


def test_error_pages_in_the_layout(app: App) -> None:
    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("a bug")

    with TestClient(app, headers=BROWSER) as client:
        sign_up(client, "ada")
        client.post_form("/bookmarks/new", {"url": "https://a.example", "title": "A"})
        sign_up(client, "bob")
        missing = client.get("/bookmarks/1/edit")  # ada's: not bob's to see
        assert missing.status_code == 404
        assert "<h1>Not found</h1>" in missing.text
        assert '<span class="user">bob</span>' in missing.text  # the layout, signed in
        wrong = client.get("/bookmarks/1/delete")
        assert (wrong.status_code, wrong.headers["allow"]) == (405, "POST")
        assert "GET is not something /bookmarks/1/delete does." in wrong.text
        failed = client.get("/boom")
        assert failed.status_code == 500
        assert "The error was logged." in failed.text
        assert "a bug" not in failed.text
        api = client.get("/api/bookmarks/1", headers={"Accept": "application/json"})
        assert api.headers["content-type"] == "application/problem+json"


def test_json_api(client: TestClient) -> None:
    api = {"Accept": "application/json"}
    assert client.get("/api/bookmarks", headers=api).status_code == 401
    sign_up(client, "ada")
    write = {**api, "X-CSRF-Token": client.cookies["csrftoken"]}
    body = {"url": "https://plait.dev", "title": "plait", "tags": ["web", "python"]}
    assert client.post("/api/bookmarks", json=body, headers=api).status_code == 403  # CSRF
    made = client.post("/api/bookmarks", json=body, headers=write)
    assert made.status_code == 201, made.text
    bookmark = made.json()
    assert (bookmark["tags"], bookmark["created_at"][-1]) == (["web", "python"], "Z")
    refused = client.post(
        "/api/bookmarks", json={**body, "url": "javascript:alert(1)"}, headers=write
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["body", "url"]

    path = f"/api/bookmarks/{bookmark['id']}"
    patched = client.patch(path, json={"tags": ["web"]}, headers=write).json()
    assert (patched["title"], patched["tags"]) == ("plait", ["web"])
    listed = client.get("/api/bookmarks", params={"tag": "web"}, headers=api).json()
    assert (listed["total"], listed["items"][0]["id"]) == (1, bookmark["id"])
    assert client.delete(path, headers=write).status_code == 204
    assert client.get(path, headers=api).status_code == 404

    document = client.get("/openapi.json", headers=api).json()
    assert set(document["paths"]) == {"/api/bookmarks", "/api/bookmarks/{bookmark_id}"}
    assert "401" in document["paths"]["/api/bookmarks"]["get"]["responses"]


def test_the_admin(app: App, client: TestClient) -> None:
    sign_up(client, "root")
    assert client.get("/admin/").status_code == 403  # not staff (yet)

    async def make_staff(session: sa.ext.asyncio.AsyncSession) -> None:
        await session.execute(sa.update(User).values(is_staff=True, is_superuser=True))

    Database.of(app).run(make_staff)
    client.post_form("/bookmarks/new", {"url": "https://a.example", "title": "A", "tags": "x"})
    changelist = client.get("/admin/bookmark/")
    assert changelist.status_code == 200
    assert "https://a.example" in changelist.text
    assert "x" in client.get("/admin/tag/").text
