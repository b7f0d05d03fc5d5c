"""Bulk actions declared on the ModelAdmin, what a delete takes with it, and CSV export."""

from __future__ import annotations

import csv
import io
from typing import Any

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
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from plait import App, Request
from plait.admin import Admin, action
from plait.db import Database, Model, Session


@action(description="Mark as published")
async def publish(request: Request, session: Any, rows: list[Story]) -> str:
    for story in rows:
        story.published = True
    return f"{len(rows)} stories published."


def no_changes(request: Request, action: str, model: type) -> bool:
    return action != "change"


def test_a_custom_bulk_action_runs_on_the_ticked_rows(db_url: str) -> None:
    app, db, admin = make_app(db_url)
    admin.unregister(Story)
    admin.register(Story, StoryAdmin, actions=(publish,))
    with serve(app, db) as client:
        writer = add_writer(client, "Ann")
        one, two, three = (add_story(client, t, writer) for t in ("one", "two", "three"))
        page = client.get("/admin/story/").text
        assert '<button type="submit" name="action" value="publish"' in page
        assert ">Mark as published</button>" in page
        form = {"action": "publish", "_selected": [str(one), str(three)], "csrf_token": CSRF_TOKEN}
        done = client.post("/admin/story/action/", data=form)
        assert done.status_code == 303
        assert "The action was done." in client.get(done.headers["location"]).text
        published = {s["id"]: s["published"] for s in client.get("/api/stories").json()["items"]}
        assert published == {one: True, two: False, three: True}
        assert "Publish." in client.get(f"/admin/story/{one}/history/").text
        nothing = client.post("/admin/story/action/", data={**form, "_selected": []})
        assert "Items must be selected" in client.get(nothing.headers["location"]).text
        unknown = client.post("/admin/story/action/", data={**form, "action": "nope"})
        assert unknown.status_code == 404


def test_an_action_needs_its_permission(db_url: str) -> None:
    app, db, admin = make_app(db_url, permission=no_changes)
    admin.unregister(Story)
    admin.register(Story, StoryAdmin, actions=(publish,))
    with serve(app, db) as client:
        writer = add_writer(client, "Ann")
        one = add_story(client, "one", writer)
        assert 'value="publish"' not in client.get("/admin/story/").text
        form = {"action": "publish", "_selected": [str(one)], "csrf_token": CSRF_TOKEN}
        assert client.post("/admin/story/action/", data=form).status_code == 403
        assert client.get("/api/stories").json()["items"][0]["published"] is False


def test_the_delete_confirmation_lists_protected_rows(db_url: str) -> None:
    app, db, _ = make_app(db_url)
    with serve(app, db) as client:
        writer = add_writer(client, "Ann")
        add_story(client, "one", writer)
        page = client.get(f"/admin/writer/{writer}/delete/").text
        assert "which refer to it and are protected" in page
        assert "<li>Story object (1)</li>" in page
        assert "Yes, delete it" not in page
        bulk = client.post("/admin/writer/delete/", data={"_selected": [str(writer)]}).text
        assert "<li>Story object (1)</li>" in bulk
        assert "Yes, delete them" not in bulk


class Album(Model):
    __tablename__ = "admin_actions_album"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))

    def __str__(self) -> str:
        return self.name


class Track(Model):
    __tablename__ = "admin_actions_track"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(50))
    album_id: Mapped[int] = mapped_column(ForeignKey("admin_actions_album.id", ondelete="CASCADE"))

    def __str__(self) -> str:
        return self.title


def test_the_delete_confirmation_lists_what_goes_too(db_url: str) -> None:
    app = App()
    db = Database(app, db_url)
    admin = Admin(app, db, csrf_required=False)
    admin.register(Album)
    admin.register(Track)
    app.add_middleware(FakeAuthAndCSRF, who=Who)

    @app.post("/_test/album")
    async def seed(session: Session) -> dict[str, int]:
        album = Album(name="Blue")
        session.add(album)
        await session.flush()
        session.add_all([Track(title=f"Song {n}", album_id=album.id) for n in range(25)])
        return {"id": album.id}

    with serve(app, db) as client:
        album = client.post("/_test/album").json()["id"]
        page = client.get(f"/admin/album/{album}/delete/").text
        assert "These related records will be deleted too:" in page
        assert "<li>Song 0</li>" in page
        assert "<li>… and 5 more</li>" in page
        done = client.post(f"/admin/album/{album}/delete/", data={"csrf_token": CSRF_TOKEN})
        assert done.status_code == 303
        assert "Song 0" not in client.get("/admin/track/").text


def test_csv_export_of_the_filtered_list(db_url: str) -> None:
    app, db, _ = make_app(db_url)
    with serve(app, db) as client:
        writer = add_writer(client, "Ann")
        add_story(client, "=HYPERLINK(1)", writer, published=True, body='a, "quoted"\nline')
        add_story(client, "Other", writer, published=False)
        page = client.get("/admin/story/?published__exact=true").text
        assert 'href="/admin/story/export/?published__exact=true" download' in page
        export = client.get("/admin/story/export/?published__exact=true")
        assert export.status_code == 200
        assert export.headers["content-type"] == "text/csv; charset=utf-8"
        assert export.headers["content-disposition"].startswith('attachment; filename="story-')
        rows = list(csv.reader(io.StringIO(export.text)))
        assert rows[0][:3] == ["id", "title", "body"]
        assert len(rows) == 2
        assert rows[1][1] == "'=HYPERLINK(1)"  # never a formula in a spreadsheet
        assert rows[1][2] == 'a, "quoted"\nline'
        everything = list(csv.reader(io.StringIO(client.get("/admin/story/export/").text)))
        assert len(everything) == 3
        assert "secret" not in client.get("/admin/writer/export/").text.splitlines()[0]


def test_csv_export_needs_the_view_permission(db_url: str) -> None:
    app, db, _ = make_app(db_url, permission=lambda request, action, model: False)
    with serve(app, db) as client:
        assert client.get("/admin/story/export/").status_code == 403
