"""The changelist, the add/change forms and delete, as a staff user uses them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from admin_harness import (
    CSRF_TOKEN,
    FakeAuthAndCSRF,
    Story,
    StoryAdmin,
    Who,
    add_story,
    add_writer,
    make_app,
    serve,
)
from sqlalchemy.ext.asyncio import AsyncSession

from _services import reset_postgres
from plait import Request
from plait.testing import TestClient
from plait.types import ASGIApp, Receive, Scope, Send


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    app, db, _ = make_app(db_url)
    with serve(app, db) as test_client:
        yield test_client


def row_titles(html: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/admin/story/\d+/change/">([^<]*)</a>', html)


def field_errors(html: str) -> list[str]:
    return re.findall(r'<p class="error" id="id_(\w+)_error">([^<]*)</p>', html)  # type: ignore[return-value]


def input_value(html: str, name: str) -> str | None:
    # plait.forms draws <input type=... value=... name=... id=...>, no value when empty.
    match = re.search(
        rf'<input type="[\w-]+"(?: value="([^"]*)")? name="{name}" id="id_{name}"', html
    )
    return (match.group(1) or "") if match else None


def story_form(writer: int, **fields: str) -> dict[str, str]:
    return {
        "title": "A title",
        "body": "Body",
        "views": "0",
        "mood": "calm",
        "writer_id": str(writer),
        **fields,
    }


def test_changelist_shows_the_list_display_columns(client: TestClient) -> None:
    writer = add_writer(client, "Ann")
    add_story(client, "First", writer, views=7, published=True)
    html = client.get("/admin/story/").text
    headings = re.findall(r'<th scope="col"[^>]*>\s*<a href="[^"]*">([^<]*)</a>', html)
    assert headings == ["Title", "Writer", "Views", "Published"]
    assert re.search(r"First</a></th><td>Ann</td><td>7</td><td>Yes</td>", html)  # FK as str()
    assert "1 story" in html


def test_changelist_search_matches_every_word_in_any_search_field(client: TestClient) -> None:
    writer = add_writer(client, "Ann")
    add_story(client, "Red fox", writer, body="quick")
    add_story(client, "Blue fox", writer, body="lazy")
    add_story(client, "100% red", writer, body="dog")
    assert sorted(row_titles(client.get("/admin/story/", params={"q": "fox"}).text)) == [
        "Blue fox",
        "Red fox",
    ]
    assert row_titles(client.get("/admin/story/", params={"q": "RED quick"}).text) == ["Red fox"]
    # LIKE wildcards in a search are matched literally.
    assert row_titles(client.get("/admin/story/", params={"q": "%"}).text) == ["100% red"]
    assert row_titles(client.get("/admin/story/", params={"q": "_"}).text) == []
    html = client.get("/admin/story/", params={"q": "nothing"}).text
    assert "No stories match" in html
    assert "0 results" in html


def test_changelist_orders_by_a_clicked_column(client: TestClient) -> None:
    writer = add_writer(client, "Ann")
    for title, views in [("b", 2), ("a", 3), ("c", 1)]:
        add_story(client, title, writer, views=views)
    # The default order: newest first (primary key descending).
    assert row_titles(client.get("/admin/story/").text) == ["c", "a", "b"]
    html = client.get("/admin/story/", params={"o": "title"}).text
    assert row_titles(html) == ["a", "b", "c"]
    assert '<th scope="col" class="sorted asc" aria-sort="ascending">' in html
    assert 'href="?o=-title">Title' in html  # clicking again reverses
    assert row_titles(client.get("/admin/story/", params={"o": "-views"}).text) == ["a", "b", "c"]
    # Only list_display columns sort; anything else falls back to the default order.
    assert row_titles(client.get("/admin/story/", params={"o": "body"}).text) == ["c", "a", "b"]


def test_changelist_paginates(client: TestClient) -> None:
    writer = add_writer(client, "Ann")
    for number in range(7):  # per_page is 3
        add_story(client, f"s{number}", writer)
    first = client.get("/admin/story/", params={"o": "title"}).text
    assert row_titles(first) == ["s0", "s1", "s2"]
    assert '<span class="this-page" aria-current="page">1</span>' in first
    assert 'href="?o=title&amp;p=3">3</a>' in first
    assert "7 stories" in first
    third = client.get("/admin/story/", params={"o": "title", "p": "3"}).text
    assert row_titles(third) == ["s6"]
    # Out-of-range and malformed pages are clamped, not errors.
    assert row_titles(client.get("/admin/story/", params={"o": "title", "p": "99"}).text) == ["s6"]
    assert row_titles(client.get("/admin/story/", params={"o": "title", "p": "x"}).text) == [
        "s0",
        "s1",
        "s2",
    ]


def test_changelist_filters(client: TestClient) -> None:
    ann, bob = add_writer(client, "Ann"), add_writer(client, "Bob")
    add_story(client, "one", ann, published=True, mood="stormy")
    add_story(client, "two", bob)
    get = lambda **params: row_titles(client.get("/admin/story/", params=params).text)  # noqa: E731
    assert get(published__exact="true") == ["one"]
    assert get(mood__exact="calm") == ["two"]
    assert get(writer_id__exact=str(bob)) == ["two"]
    assert sorted(get(writer_id__exact="not a number")) == ["one", "two"]  # ignored
    assert sorted(get(writer_id__exact=str(2**63))) == ["one", "two"]  # out of range too
    html = client.get("/admin/story/", params={"published__exact": "false"}).text
    assert '<li class="selected"><a href="?published__exact=false">No</a></li>' in html


def test_add_a_valid_row_redirects_with_a_message(client: TestClient) -> None:
    writer = add_writer(client, "Ann")
    form = story_form(writer, title="Fresh", published="true", published_on="2024-02-29")
    response = client.post("/admin/story/add/", data=form)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/admin/story/?_msg=added&_pk=")
    story = client.get(f"/api/stories/{location.rsplit('=', 1)[1]}").json()
    assert (story["title"], story["published"], story["published_on"]) == (
        "Fresh",
        True,
        "2024-02-29",
    )
    assert (story["mood"], story["writer_id"], story["views"]) == ("calm", writer, 0)
    page = client.get(location).text
    assert "The story “Story object (1)” was added successfully." in page


def test_add_defaults_and_empty_optional_fields(client: TestClient) -> None:
    writer = add_writer(client, "Ann")
    form = story_form(writer, views="", published_on="")
    assert client.post("/admin/story/add/", data=form).status_code == 303
    story = client.get("/api/stories").json()["items"][0]
    assert (story["views"], story["published"], story["published_on"]) == (0, False, None)
    # The add form starts from the columns' defaults.
    html = client.get("/admin/story/add/").text
    assert input_value(html, "views") == "0"
    assert '<option value="calm" selected>Calm</option>' in html


def test_add_an_invalid_row_shows_every_error_and_keeps_the_input(client: TestClient) -> None:
    writer = add_writer(client, "Ann")
    form = story_form(
        writer, title="x" * 41, body="", views="many", published_on="2024-02-30", mood="sunny"
    )
    response = client.post("/admin/story/add/", data=form)
    assert response.status_code == 200
    assert dict(field_errors(response.text)) == {
        "title": "Ensure this value has at most 40 characters (it has 41).",
        "body": "This field is required.",
        "views": "Enter a whole number.",
        "mood": "Select a valid choice.",
        "published_on": "Enter a valid date.",
    }
    assert "Please correct the errors below." in response.text
    assert input_value(response.text, "title") == "x" * 41
    assert input_value(response.text, "views") == "many"
    assert input_value(response.text, "published_on") == "2024-02-30"
    assert client.get("/api/stories").json()["items"] == []
    # The integer column's range is the API's too.
    big = client.post("/admin/story/add/", data=story_form(writer, views=str(2**31)))
    assert dict(field_errors(big.text)) == {
        "views": "Ensure this value is less than or equal to 2147483647."
    }


def test_foreign_keys_are_a_select_of_the_related_rows(client: TestClient) -> None:
    ann, bob = add_writer(client, "Ann"), add_writer(client, "<Bob>")
    html = client.get("/admin/story/add/").text
    options = re.findall(
        r'<option value="(\d*)"[^>]*>([^<]*)</option>', html.split('name="writer_id"')[1]
    )
    assert options[:3] == [("", "---------"), (str(ann), "Ann"), (str(bob), "&lt;Bob&gt;")]
    assert 'for="id_writer_id" class="required">Writer</label>' in html
    response = client.post("/admin/story/add/", data=story_form(9999))
    assert dict(field_errors(response.text)) == {
        "writer_id": "Select a valid choice. 9999 is not one of the available choices."
    }
    response = client.post("/admin/story/add/", data=story_form(bob, title="b"))
    assert response.status_code == 303
    story_id = response.headers["location"].rsplit("=", 1)[1]
    change = client.get(f"/admin/story/{story_id}/change/").text
    assert f'<option value="{bob}" selected>&lt;Bob&gt;</option>' in change


def test_a_unique_violation_is_a_form_error(client: TestClient) -> None:
    writer = add_writer(client, "Ann")
    add_story(client, "Taken", writer)
    response = client.post("/admin/story/add/", data=story_form(writer, title="Taken"))
    assert response.status_code == 200
    assert dict(field_errors(response.text)) == {"title": "A story with this Title already exists."}
    assert input_value(response.text, "title") == "Taken"
    # The session is usable again after the failed commit.
    assert (
        client.post("/admin/story/add/", data=story_form(writer, title="Free")).status_code == 303
    )


def test_change_a_row(client: TestClient) -> None:
    writer = add_writer(client, "Ann")
    story = add_story(client, "Old", writer, views=2, published=True)
    html = client.get(f"/admin/story/{story}/change/").text
    assert input_value(html, "title") == "Old"
    assert input_value(html, "views") == "2"
    assert '<input type="checkbox" value="on" checked name="published" id="id_published">' in html
    assert "Created at" in html  # read-only, database-filled
    assert 'name="created_at"' not in html
    assert 'name="id"' not in html
    form = story_form(writer, title="New", views="5")  # "published" unticked
    response = client.post(f"/admin/story/{story}/change/", data=form)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/story/?_msg=changed&_pk=" + str(story)
    saved = client.get(f"/api/stories/{story}").json()
    assert (saved["title"], saved["views"], saved["published"]) == ("New", 5, False)
    # "Save and continue editing" comes back to the form, with the message.
    form["_continue"] = ""
    response = client.post(f"/admin/story/{story}/change/", data=form)
    assert response.headers["location"].startswith(f"/admin/story/{story}/change/?_msg=changed")
    assert "was changed successfully" in client.get(response.headers["location"]).text
    # "Save and add another" opens an empty add form, with the message.
    another = {**story_form(writer, title="Another"), "_addanother": ""}
    response = client.post("/admin/story/add/", data=another)
    assert response.headers["location"].startswith("/admin/story/add/?_msg=added&_pk=")
    page = client.get(response.headers["location"]).text
    assert "The story “Story object (2)” was added successfully." in page
    assert input_value(page, "title") == ""
    invalid = client.post(f"/admin/story/{story}/change/", data={**form, "title": ""})
    assert dict(field_errors(invalid.text)) == {"title": "This field is required."}
    assert client.get(f"/api/stories/{story}").json()["title"] == "New"


def test_delete_asks_first_and_deletes_on_post(client: TestClient) -> None:
    writer = add_writer(client, "Ann")
    story = add_story(client, "Doomed", writer)
    page = client.get(f"/admin/story/{story}/delete/")
    assert page.status_code == 200
    assert "Are you sure you want to delete the story" in page.text
    assert '<form method="post">' in page.text
    assert client.get(f"/api/stories/{story}").status_code == 200  # GET changed nothing
    response = client.post(f"/admin/story/{story}/delete/")
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/story/?_msg=deleted"
    assert client.get(f"/api/stories/{story}").status_code == 404
    assert "The story was deleted successfully." in client.get(response.headers["location"]).text
    assert client.post(f"/admin/story/{story}/delete/").status_code == 404


def test_a_row_still_referenced_is_not_deleted(client: TestClient) -> None:
    writer = add_writer(client, "Ann")
    add_story(client, "Keeps Ann", writer)
    response = client.post(f"/admin/writer/{writer}/delete/")
    assert response.status_code == 409
    assert "cannot be deleted: other records refer to it" in response.text
    assert client.get(f"/api/writers/{writer}").status_code == 200


def test_values_are_escaped_everywhere(client: TestClient) -> None:
    script = "<script>alert(1)</script>"
    writer = add_writer(client, script)
    story = add_story(client, '"><script>x</script>', writer, body=script)
    pages = [
        client.get("/admin/story/").text,
        client.get("/admin/story/", params={"q": script}).text,
        client.get(f"/admin/story/{story}/change/").text,
        client.get(f"/admin/writer/{writer}/delete/").text,
        client.get("/admin/writer/").text,
        client.post("/admin/story/add/", data=story_form(writer, title=script * 3)).text,
    ]
    for html in pages:
        assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[4]
    assert 'value="&#34;&gt;&lt;script&gt;x&lt;/script&gt;"' in pages[2]


def test_every_form_carries_the_csrf_token(client: TestClient) -> None:
    writer = add_writer(client, "Ann")
    story = add_story(client, "t", writer)
    hidden = f'<input type="hidden" name="csrf_token" value="{CSRF_TOKEN}">'
    for url in (
        "/admin/story/add/",
        f"/admin/story/{story}/change/",
        f"/admin/story/{story}/delete/",
    ):
        html = client.get(url).text
        assert html.count("<form") == html.count(hidden) == 1, url


def test_no_csrf_input_without_the_scope_key(db_url: str) -> None:
    app, db, _ = make_app(db_url)
    app.user_middleware = [(FakeAuthAndCSRF, {"who": Who, "csrf": False})]
    with serve(app, db) as client:
        html = client.get("/admin/story/add/").text
        assert "<form" in html
        assert "csrf_token" not in html


class FakeSessions:
    """A dict in ``scope["session"]`` kept between requests, as plait.sessions does."""

    data: dict[str, Any] = {}

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["session"] = self.data
        await self.app(scope, receive, send)


def test_messages_go_through_the_session_when_there_is_one(db_url: str) -> None:
    app, db, _admin = make_app(db_url, logout_url="/logout")
    app.add_middleware(FakeSessions)
    FakeSessions.data = {}
    with serve(app, db) as client:
        writer = add_writer(client, "Ann")
        response = client.post("/admin/writer/add/", data={"name": "Bea", "email": ""})
        assert response.headers["location"] == "/admin/writer/"
        assert FakeSessions.data["_flashes"] == [
            ["success", "The writer “Bea” was added successfully."]
        ]
        html = client.get("/admin/writer/").text
        assert "The writer “Bea” was added successfully." in html
        assert "_flashes" not in FakeSessions.data  # shown once
        assert "was added" not in client.get("/admin/writer/").text
        # The logout button is a POST form with the token.
        assert re.search(
            r'<form method="post" action="/logout" class="inline">\s*'
            r'<input type="hidden" name="csrf_token"',
            html,
        )
        assert client.get(f"/admin/writer/{writer}/change/").status_code == 200
        client.post(f"/admin/writer/{writer}/delete/")
        assert FakeSessions.data["_flashes"] == [
            ["success", "The writer “Ann” was deleted successfully."]
        ]


def test_date_times_are_datetime_local_inputs_in_utc(client: TestClient) -> None:
    writer = add_writer(client, "Ann")
    html = client.get("/admin/story/add/").text
    assert input_value(html, "scheduled_at") == ""
    assert 'id="id_scheduled_at" aria-describedby="id_scheduled_at_help" step="1">' in html
    form = story_form(writer, scheduled_at="2024-05-01T10:30")
    location = client.post("/admin/story/add/", data=form).headers["location"]
    story = location.rsplit("=", 1)[1]
    assert client.get(f"/api/stories/{story}").json()["scheduled_at"] == "2024-05-01T10:30:00Z"
    change = client.get(f"/admin/story/{story}/change/").text
    assert input_value(change, "scheduled_at") == "2024-05-01T10:30:00"
    bad = client.post("/admin/story/add/", data=story_form(writer, scheduled_at="tomorrow"))
    assert dict(field_errors(bad.text)) == {"scheduled_at": "Enter a valid date/time."}


def test_a_nullable_enum_can_be_left_empty(client: TestClient) -> None:
    writer = add_writer(client, "Ann")
    html = client.get("/admin/story/add/").text
    tone = html.split('name="tone"')[1].split("</select>")[0]
    assert re.findall(r'<option value="(\w*)"', tone) == ["", "calm", "stormy"]
    for posted, stored in (("stormy", "stormy"), ("", None)):
        form = story_form(writer, title=f"t{posted}", tone=posted)
        story = client.post("/admin/story/add/", data=form).headers["location"].rsplit("=", 1)[1]
        assert client.get(f"/api/stories/{story}").json()["tone"] == stored
    # A required enum with a default starts on it, without an empty choice.
    mood = html.split('name="mood"')[1].split("</select>")[0]
    assert re.findall(r'<option value="(\w*)"', mood) == ["calm", "stormy"]


def test_a_nullable_boolean_is_a_three_way_select(client: TestClient) -> None:
    writer = add_writer(client, "Ann")
    html = client.get("/admin/story/add/").text
    assert '<option value="" selected>Unknown</option>' in html
    for posted, stored in (("true", True), ("false", False), ("", None)):
        form = story_form(writer, title=f"t{posted}", featured=posted)
        story = client.post("/admin/story/add/", data=form).headers["location"].rsplit("=", 1)[1]
        assert client.get(f"/api/stories/{story}").json()["featured"] is stored


def test_write_only_columns_are_password_inputs_never_shown(client: TestClient) -> None:
    response = client.post("/admin/writer/add/", data={"name": "Ann", "secret": "hunter2"})
    writer = response.headers["location"].rsplit("=", 1)[1]
    assert client.get(f"/_test/writers/{writer}/secret").json()["secret"] == "hunter2"
    html = client.get(f"/admin/writer/{writer}/change/").text
    assert '<input type="password" name="secret" id="id_secret" aria-describedby' in html
    assert "hunter2" not in html
    assert "Leave empty to keep the current value." in html
    # Left empty: unchanged; filled in: replaced.
    client.post(f"/admin/writer/{writer}/change/", data={"name": "Ann", "secret": ""})
    assert client.get(f"/_test/writers/{writer}/secret").json()["secret"] == "hunter2"
    client.post(f"/admin/writer/{writer}/change/", data={"name": "Ann", "secret": "s3cret"})
    assert client.get(f"/_test/writers/{writer}/secret").json()["secret"] == "s3cret"
    # Kept out of an invalid form's echo too.
    invalid = client.post(f"/admin/writer/{writer}/change/", data={"name": "", "secret": "x1"})
    assert 'name="secret" id="id_secret" aria-describedby' in invalid.text
    assert "x1" not in invalid.text


def test_delete_selected_rows_from_the_changelist(client: TestClient) -> None:
    writer = add_writer(client, "Ann")
    keep, one, two = (add_story(client, title, writer) for title in ("keep", "one", "two"))
    html = client.get("/admin/story/").text
    assert re.search(
        r'<form method="post" action="/admin/story/action/" class="bulk">\s*'
        rf'<input type="hidden" name="csrf_token" value="{CSRF_TOKEN}">',
        html,
    )
    assert '<button type="submit" name="action" value="delete_selected"' in html
    assert f'<input type="checkbox" name="_selected" value="{one}" aria-label="Select one">' in html
    selected = {"_selected": [str(one), str(two), "junk", "99999999999999"]}
    confirm = client.post("/admin/story/delete/", data=selected)
    assert confirm.status_code == 200
    assert "Are you sure you want to delete these 2 stories?" in confirm.text
    assert re.findall(r"<li>([^<]*)</li>", confirm.text) == ["Story object (2)", "Story object (3)"]
    assert len(client.get("/api/stories").json()["items"]) == 3  # nothing deleted yet
    done = client.post("/admin/story/delete/", data={**selected, "post": "yes"})
    assert done.status_code == 303
    assert done.headers["location"] == "/admin/story/?_msg=deleted_many&_n=2"
    assert [s["id"] for s in client.get("/api/stories").json()["items"]] == [keep]
    assert "Successfully deleted 2 stories." in client.get(done.headers["location"]).text
    # Nothing ticked: back to the list.
    nothing = client.post("/admin/story/delete/", data={"post": "yes"})
    assert (nothing.status_code, nothing.headers["location"]) == (303, "/admin/story/?_msg=none")
    assert client.get("/admin/story/delete/").status_code == 405  # POST only


def test_delete_selected_keeps_referenced_rows(client: TestClient) -> None:
    ann, bob = add_writer(client, "Ann"), add_writer(client, "Bob")
    add_story(client, "by Ann", ann)
    form = {"_selected": [str(ann), str(bob)], "post": "yes"}
    response = client.post("/admin/writer/delete/", data=form)
    assert response.status_code == 409
    assert "cannot be deleted: other records refer to some of them" in response.text
    assert len(client.get("/api/writers").json()["items"]) == 2  # not even Bob: all or nothing


@pytest.mark.postgres
def test_a_value_the_database_refuses_is_a_form_error(postgres_server: str) -> None:
    # SQLite stores anything anywhere: only PostgreSQL refuses a value (SQLSTATE class 22).
    reset_postgres(postgres_server)
    db_url = postgres_server

    class Strict(StoryAdmin):
        async def save_model(
            self, request: Request, session: AsyncSession, obj: Any, change: bool
        ) -> None:
            # What a Numeric(5, 2) overflow does: a DataError from the database.
            await session.execute(
                sa.text("SELECT CAST(CAST(:title AS TEXT) AS INTEGER)"), {"title": obj.title}
            )
            session.add(obj)

    app, db, admin = make_app(db_url)
    admin.unregister(Story)
    admin.register(Story, Strict)
    with serve(app, db) as client:
        writer = add_writer(client, "Ann")
        response = client.post("/admin/story/add/", data=story_form(writer, title="not a number"))
        assert response.status_code == 200
        assert "The database refused one of these values" in response.text
        assert input_value(response.text, "title") == "not a number"
        assert (
            client.post("/admin/story/add/", data=story_form(writer, title="12")).status_code == 303
        )
