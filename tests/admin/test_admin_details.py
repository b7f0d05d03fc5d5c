"""The browser's small findings: headings, link texts, select-all, an empty bulk action."""

from __future__ import annotations

from admin_harness import CSRF_TOKEN, Story, add_story, add_writer, make_app, serve


def test_a_foreign_key_column_is_headed_by_the_relation(db_url: str) -> None:
    app, db, _ = make_app(db_url)
    with serve(app, db) as client:
        writer = add_writer(client, "Ann")
        add_story(client, "One", writer)
        page = client.get("/admin/story/").text
        assert '<a href="?o=writer_id">Writer</a>' in page
        assert "Writer id" not in page
        assert "<td>Ann</td>" in page


def test_rows_listed_by_a_foreign_key_first_are_linked_by_their_own_name(db_url: str) -> None:
    app, db, admin = make_app(db_url)
    admin.unregister(Story)
    admin.register(Story, list_display=("writer_id", "title"))
    with serve(app, db) as client:
        writer = add_writer(client, "Ann")
        first, second = add_story(client, "One", writer), add_story(client, "Two", writer)
        page = client.get("/admin/story/").text
        assert f'<a href="/admin/story/{first}/change/">Story object ({first})</a>' in page
        assert f'<a href="/admin/story/{second}/change/">Story object ({second})</a>' in page
        assert page.count("<td>Ann</td>") == 2


def test_select_all_and_an_empty_bulk_delete(db_url: str) -> None:
    app, db, _ = make_app(db_url)
    with serve(app, db) as client:
        writer = add_writer(client, "Ann")
        add_story(client, "One", writer)
        page = client.get("/admin/story/").text
        assert 'class="select-all" aria-label="Select all stories on this page" hidden' in page
        assert '<script src="/admin/static/admin.js" defer></script>' in page
        script = client.get("/admin/static/admin.js")
        assert script.status_code == 200
        assert script.headers["content-type"].startswith("text/javascript")
        assert "select-all" in script.text
        assert client.get("/admin/static/other.js").status_code == 404
        nothing = client.post("/admin/story/delete/", data={"csrf_token": CSRF_TOKEN})
        assert nothing.status_code == 303
        warned = client.get(nothing.headers["location"]).text
        assert "Items must be selected in order to perform actions on them." in warned
        assert 'class="message message-warning"' in warned
