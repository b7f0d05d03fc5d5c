"""The date hierarchy: years, then a year's months, then a month's days, above the list,
keeping the search, the filters and the order."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from admin_harness import Story, StoryAdmin, add_story, add_writer, make_app, serve

from plait.admin import ModelAdmin

UP = "\N{SINGLE LEFT-POINTING ANGLE QUOTATION MARK} "  # the link up a level


def titles(page: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a>', page)


def date_links(page: str) -> dict[str, str]:
    """The hierarchy's links by their text."""
    nav = page.split('<nav class="date-hierarchy" aria-label="Dates">')[1].split("</nav>")[0]
    return {
        html.unescape(t): html.unescape(u)
        for u, t in re.findall(r'<a href="([^"]+)">([^<]+)</a>', nav)
    }


@pytest.mark.parametrize("column", ["published_on", "scheduled_at"])
def test_drill_down_by_year_month_and_day(db_url: str, column: str) -> None:
    app, db, admin = make_app(db_url)
    admin.unregister(Story)
    admin.register(Story, StoryAdmin, date_hierarchy=column, per_page=10)
    dates = {
        "a": "2023-12-31",
        "b": "2024-03-05",
        "c": "2024-03-05",
        "d": "2024-03-20",
        "e": "2024-11-01",
        "f": "2026-01-01",
    }
    with serve(app, db) as client:
        writer = add_writer(client, "Ann")
        for title, day in dates.items():
            value = day if column == "published_on" else f"{day}T23:30:00Z"
            add_story(client, title, writer, published=title != "c", **{column: value})
        add_story(client, "undated", writer)

        top = client.get("/admin/story/?o=title").text
        years = date_links(top)
        assert list(years) == ["2023", "2024", "2026"]  # 2025 holds no row
        year = client.get("/admin/story/" + years["2024"]).text
        assert titles(year) == ["b", "c", "d", "e"]
        months = date_links(year)
        assert list(months) == [UP + "All dates", "March", "November"]
        march = client.get("/admin/story/" + months["March"]).text
        assert titles(march) == ["b", "c", "d"]
        days = date_links(march)
        assert list(days) == [UP + "2024", "March 5", "March 20"]
        fifth = client.get("/admin/story/" + days["March 5"]).text
        assert titles(fifth) == ["b", "c"]
        assert 'aria-current="true">March 5, 2024<' in fifth
        assert list(date_links(fifth)) == [UP + "March 2024"]
        # The order and the filters stay; a filter keeps the chosen month.
        assert "o=title" in days["March 5"]
        filtered = client.get("/admin/story/" + months["March"] + "&published__exact=true").text
        assert titles(filtered) == ["b", "d"]
        assert list(date_links(filtered)) == [UP + "2024", "March 5", "March 20"]
        export = client.get(f"/admin/story/export/?{column}__year=2024&{column}__month=3").text
        assert export.count("\n") == 4  # the heading and March's three rows
        # A bad value stops the drill-down where it is wrong.
        assert titles(
            client.get(f"/admin/story/?o=title&{column}__year=2024&{column}__month=13").text
        ) == [
            "b",
            "c",
            "d",
            "e",
        ]
        assert len(titles(client.get(f"/admin/story/?{column}__year=x").text)) == 7


def test_date_hierarchy_must_name_a_date_column(tmp_path: Path) -> None:
    _, _, admin = make_app(f"sqlite+aiosqlite:///{tmp_path / 'dates.sqlite3'}")
    admin.unregister(Story)
    for name in ("title", "nothing"):
        with pytest.raises(ValueError, match="date_hierarchy"):
            admin.register(Story, ModelAdmin, date_hierarchy=name)
