"""Date filters (today, past 7 days, this month, this year, with or without a date) and
"has value" filters for nullable columns."""

from __future__ import annotations

import datetime
import re

from admin_harness import Story, StoryAdmin, Writer, add_story, add_writer, make_app, serve


def titles(page: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a>', page)


def test_date_and_has_value_filters(db_url: str) -> None:
    app, db, admin = make_app(db_url)
    admin.unregister(Story)
    admin.unregister(Writer)
    admin.register(Story, StoryAdmin, list_filter=("published_on", "created_at"), per_page=50)
    admin.register(Writer, list_filter=("email",))
    today = datetime.datetime.now(datetime.UTC).date()
    with serve(app, db) as client:
        writer = add_writer(client, "Ann", "ann@example.org")
        add_writer(client, "Bob")
        add_story(client, "today", writer, published_on=today.isoformat())
        old = today - datetime.timedelta(days=400)
        add_story(client, "long ago", writer, published_on=old.isoformat())
        add_story(client, "undated", writer)
        page = client.get("/admin/story/").text
        for label in ("Today", "Past 7 days", "This month", "This year", "Has date", "No date"):
            assert f">{label}</a>" in page
        assert 'href="?published_on__range=today"' in page

        def shown(query: str) -> set[str]:
            return set(titles(client.get(f"/admin/story/?{query}").text))

        assert shown("published_on__range=today") == {"today"}
        assert shown("published_on__range=past7") == {"today"}
        assert shown("published_on__range=year") == {"today"}
        assert shown("published_on__range=null") == {"undated"}
        assert shown("published_on__range=notnull") == {"today", "long ago"}
        assert shown("created_at__range=today") == {"today", "long ago", "undated"}
        assert shown("published_on__range=bogus") == {"today", "long ago", "undated"}

        writers = client.get("/admin/writer/").text
        assert "By email set" in writers
        assert set(titles(client.get("/admin/writer/?email__isnull=0").text)) == {"Ann"}
        assert set(titles(client.get("/admin/writer/?email__isnull=1").text)) == {"Bob"}


def test_big_tables_stop_counting_and_reach_the_last_page(db_url: str) -> None:
    app, db, admin = make_app(db_url)
    admin.unregister(Story)
    admin.register(Story, StoryAdmin, count_limit=5, search_fields=("^title", "body"))
    with serve(app, db) as client:
        writer = add_writer(client, "Ann")
        for number in range(8):  # per_page is 3
            add_story(client, f"s{number}", writer, body="x")
        first = client.get("/admin/story/?o=title").text
        assert titles(first) == ["s0", "s1", "s2"]
        assert "more than 5 stories" in first
        # The last page is read from the end: the table's true last rows.
        assert titles(client.get("/admin/story/?o=title&p=last").text) == ["s5", "s6", "s7"]
        assert titles(client.get("/admin/story/?o=-title&p=last").text) == ["s2", "s1", "s0"]
        # "^title" matches the start of the title only.
        assert titles(client.get("/admin/story/?q=s7").text) == ["s7"]
        assert titles(client.get("/admin/story/?q=7").text) == []


def test_a_page_in_the_second_half_is_read_from_the_end(db_url: str) -> None:
    app, db, _ = make_app(db_url)
    with serve(app, db) as client:
        writer = add_writer(client, "Ann")
        for number in range(11):  # per_page is 3: 4 pages, the last one holds 2
            add_story(client, f"s{number:02}", writer)
        pages = [titles(client.get(f"/admin/story/?o=title&p={p}").text) for p in (1, 2, 3, 4)]
        assert pages == [
            ["s00", "s01", "s02"],
            ["s03", "s04", "s05"],
            ["s06", "s07", "s08"],
            ["s09", "s10"],
        ]
        assert "11 stories" in client.get("/admin/story/?p=4").text
