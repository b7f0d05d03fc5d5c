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
