"""The admin's history: a log entry for each add, change and delete, with the changed
fields old -> new (never a write-only value), on each object's History page and in the
index's recent actions; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from admin_harness import CSRF_TOKEN, User, Who, make_app, serve

from plait.testing import TestClient


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    app, db, _ = make_app(db_url)
    with serve(app, db) as test_client:
        yield test_client


def added_key(response: object) -> str:
    location = response.headers["location"]  # type: ignore[attr-defined]
    return str(location.rsplit("=", 1)[1])


def test_every_write_is_logged_with_its_changes(client: TestClient) -> None:
    form = {"name": "Ann", "email": "ann@example.org", "secret": "s3cret-one"}
    writer = added_key(client.post("/admin/writer/add/", data={**form, "csrf_token": CSRF_TOKEN}))
    change = client.get(f"/admin/writer/{writer}/change/").text
    assert f'href="/admin/writer/{writer}/history/">History</a>' in change
    edit = {"name": "Anna", "email": "ann@example.org", "secret": "s3cret-two"}
    response = client.post(f"/admin/writer/{writer}/change/", data=edit)
    assert response.status_code == 303
    untouched = {"name": "Anna", "email": "ann@example.org", "secret": ""}
    assert client.post(f"/admin/writer/{writer}/change/", data=untouched).status_code == 303

    history = client.get(f"/admin/writer/{writer}/history/")
    assert history.status_code == 200
    rows = re.findall(r"<tr>\s*<th scope=\"row\">(.*?)</tr>", history.text, re.S)
    assert len(rows) == 3
    assert "Added." in rows[0]
    assert "<strong>Name</strong>: — → Ann" in rows[0]  # the values it was added with
    assert "Changed name, secret." in rows[1]
    assert "<strong>Name</strong>: Ann → Anna" in rows[1]
    assert "<strong>Secret</strong>: (hidden) → (hidden)" in rows[1]
    assert "No fields changed." in rows[2]
    assert ">ada<" in rows[0]  # who
    assert "s3cret" not in history.text

    # Deleted: still in the history (not linked), and in the index's recent actions.
    deleted = client.post(f"/admin/writer/{writer}/delete/", data={"csrf_token": CSRF_TOKEN})
    assert deleted.status_code == 303
    history = client.get(f"/admin/writer/{writer}/history/").text
    assert "Deleted." in history
    assert "Back to the writer" not in history
    index = client.get("/admin/").text
    recent = index[index.index("Recent actions") :]
    assert recent.count("<li class=") == 4
    assert f'<a href="/admin/writer/{writer}/change/">' in recent
    assert "Writer · Deleted." in recent
    assert "s3cret" not in index


def test_bulk_deletes_are_logged_one_entry_per_row(client: TestClient) -> None:
    keys = [
        added_key(client.post("/admin/writer/add/", data={"name": name, "csrf_token": CSRF_TOKEN}))
        for name in ("Bea", "Cy")
    ]
    form = {"_selected": keys, "post": "yes", "csrf_token": CSRF_TOKEN}
    assert client.post("/admin/writer/delete/", data=form).status_code == 303
    for key in keys:
        assert "Deleted." in client.get(f"/admin/writer/{key}/history/").text


def test_recent_actions_are_the_users_own(client: TestClient) -> None:
    client.post("/admin/writer/add/", data={"name": "Dee", "csrf_token": CSRF_TOKEN})
    Who.user = User("zoe")
    assert "Recent actions" not in client.get("/admin/").text
    assert client.get("/admin/writer/999/history/").status_code == 404
