"""Inlines: a related model's rows added, changed and deleted on the parent's form, in one
transaction with the parent; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from admin_harness import CSRF_TOKEN, FakeAuthAndCSRF, Who, serve
from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column

from plait import App
from plait.admin import Admin, ModelAdmin, StackedInline, TabularInline
from plait.db import Database, Model, Session
from plait.testing import TestClient


class Record(Model):
    __tablename__ = "admin_inlines_record"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))

    def __str__(self) -> str:
        return self.name


class Song(Model):
    __tablename__ = "admin_inlines_song"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(20), unique=True)
    minutes: Mapped[int] = mapped_column(default=3)
    record_id: Mapped[int] = mapped_column(ForeignKey("admin_inlines_record.id"))

    def __str__(self) -> str:
        return self.title


class SongInline(TabularInline):
    model = Song
    extra = 1


class StackedSongs(StackedInline):
    model = Song
    extra = 2


class RecordAdmin(ModelAdmin):
    inlines = (SongInline,)


def make(db_url: str, admin_class: type[ModelAdmin] = RecordAdmin) -> tuple[App, Database]:
    app = App()
    db = Database(app, db_url)
    admin = Admin(app, db, csrf_required=False)
    admin.register(Record, admin_class)
    app.add_middleware(FakeAuthAndCSRF, who=Who)

    @app.get("/_test/songs")
    async def songs(session: Session) -> list[list[object]]:
        rows = await session.execute(
            select(Song.title, Song.minutes, Song.record_id).order_by(Song.id)
        )
        return [list(row) for row in rows]

    @app.get("/_test/records")
    async def records(session: Session) -> list[str]:
        return list(await session.scalars(select(Record.name).order_by(Record.id)))

    return app, db


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    app, db = make(db_url)
    with serve(app, db) as test_client:
        yield test_client


def test_adding_a_parent_with_its_rows(client: TestClient) -> None:
    page = client.get("/admin/record/add/").text
    assert '<fieldset class="inline inline-tabular" id="song-group">' in page
    assert 'name="song-TOTAL" value="1"' in page
    assert 'name="song-0-title"' in page
    assert 'name="song-0-record_id"' not in page  # the parent is the foreign key
    form = {
        "name": "Blue",
        "song-TOTAL": "3",
        "song-0-id": "",
        "song-0-title": "One",
        "song-0-minutes": "4",
        "song-1-id": "",
        "song-1-title": "Two",
        "song-1-minutes": "",
        "song-2-id": "",  # a blank extra row (as shown: the default minutes): left out
        "song-2-title": "",
        "song-2-minutes": "3",
        "csrf_token": CSRF_TOKEN,
    }
    done = client.post("/admin/record/add/", data=form)
    assert done.status_code == 303, done.text
    record = int(done.headers["location"].rsplit("=", 1)[1])
    assert client.get("/_test/songs").json() == [["One", 4, record], ["Two", 3, record]]
    history = client.get(f"/admin/record/{record}/history/").text
    assert "<strong>Song</strong>: — → One" in history


def test_changing_deleting_and_adding_rows_in_one_form(client: TestClient) -> None:
    form = {
        "name": "Blue",
        "song-TOTAL": "2",
        "song-0-title": "One",
        "song-0-minutes": "4",
        "song-1-title": "Two",
        "song-1-minutes": "5",
    }
    record = client.post("/admin/record/add/", data=form).headers["location"].rsplit("=", 1)[1]
    page = client.get(f"/admin/record/{record}/change/").text
    assert 'name="song-TOTAL" value="3"' in page  # two rows and a blank one
    keys = re.findall(r'name="song-\d-id" value="(\d*)"', page)
    assert len(keys) == 3
    assert keys[2] == ""
    form = {
        "name": "Blue (remastered)",
        "song-TOTAL": "3",
        "song-0-id": keys[0],
        "song-0-title": "One!",
        "song-0-minutes": "4",
        "song-1-id": keys[1],
        "song-1-title": "Two",
        "song-1-minutes": "5",
        "song-1-DELETE": "on",
        "song-2-id": "",
        "song-2-title": "Three",
        "song-2-minutes": "6",
    }
    done = client.post(f"/admin/record/{record}/change/", data=form)
    assert done.status_code == 303, done.text
    assert client.get("/_test/songs").json() == [
        ["One!", 4, int(record)],
        ["Three", 6, int(record)],
    ]
    assert client.get("/_test/records").json() == ["Blue (remastered)"]


def test_an_invalid_row_saves_nothing_and_says_where(client: TestClient) -> None:
    form = {"name": "Blue", "song-TOTAL": "1", "song-0-title": "One", "song-0-minutes": "4"}
    record = client.post("/admin/record/add/", data=form).headers["location"].rsplit("=", 1)[1]
    bad = {
        "name": "Renamed",
        "song-TOTAL": "2",
        "song-0-id": "1",
        "song-0-title": "One",
        "song-0-minutes": "four",
        "song-1-title": "x" * 30,
    }
    page = client.post(f"/admin/record/{record}/change/", data=bad)
    assert page.status_code == 200
    assert "Please correct the errors in the songs below." in page.text
    assert "Enter a whole number." in page.text
    assert "at most 20 characters" in page.text
    assert 'value="four"' in page.text  # what was typed is kept
    assert client.get("/_test/records").json() == ["Blue"]
    # A row the database refuses (a title taken) rolls the parent's change back too.
    taken = {
        "name": "Renamed",
        "song-TOTAL": "2",
        "song-0-id": "1",
        "song-0-title": "One",
        "song-0-minutes": "4",
        "song-1-title": "One",
        "song-1-minutes": "1",
    }
    page = client.post(f"/admin/record/{record}/change/", data=taken)
    assert page.status_code == 200
    assert client.get("/_test/records").json() == ["Blue"]
    assert len(client.get("/_test/songs").json()) == 1


def test_stacked_inlines_and_rows_of_another_parent(db_url: str) -> None:
    class StackedAdmin(ModelAdmin):
        inlines = (StackedSongs,)

    app, db = make(db_url, StackedAdmin)
    with serve(app, db) as client:
        page = client.get("/admin/record/add/").text
        assert '<fieldset class="inline inline-stacked" id="song-group">' in page
        assert 'name="song-TOTAL" value="2"' in page
        first = {"name": "A", "song-TOTAL": "1", "song-0-title": "Mine", "song-0-minutes": "1"}
        a = client.post("/admin/record/add/", data=first).headers["location"].rsplit("=", 1)[1]
        b = client.post("/admin/record/add/", data={"name": "B"}).headers["location"]
        b = b.rsplit("=", 1)[1]
        # Record B's form cannot touch record A's song by naming its key.
        steal = {
            "name": "B",
            "song-TOTAL": "1",
            "song-0-id": "1",
            "song-0-title": "Stolen",
            "song-0-minutes": "1",
            "song-0-DELETE": "on",
        }
        assert client.post(f"/admin/record/{b}/change/", data=steal).status_code == 303
        assert client.get("/_test/songs").json() == [["Mine", 1, int(a)]]


def test_an_inline_needs_one_foreign_key_to_the_parent(db_url: str) -> None:
    class Wrong(TabularInline):
        model = Record

    class WrongAdmin(ModelAdmin):
        inlines = (Wrong,)

    app = App()
    admin = Admin(app, Database(app, db_url), csrf_required=False)
    with pytest.raises(ValueError, match="exactly one foreign key"):
        admin.register(Song, WrongAdmin)
