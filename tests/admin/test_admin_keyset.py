"""Keyset pagination: the next and previous pages are found from a row's key, so every page
the changelist links to costs what the first one does, however deep."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from admin_harness import Story, StoryAdmin, add_story, add_writer, make_app, serve

from plait.admin import _links
from plait.testing import TestClient


def sqlite(tmp_path: Path) -> str:
    """The links are the same on every database: these run on SQLite only."""
    return f"sqlite+aiosqlite:///{tmp_path / 'keyset.sqlite3'}"


def titles(page: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a>', page)


def page_urls(page: str) -> dict[str, str]:
    """The paginator's links by their number."""
    paginator = page.split('<p class="paginator">')[1].split("</p>")[0]
    return {n: html.unescape(u) for u, n in re.findall(r'<a href="([^"]+)">(\d+)</a>', paginator)}


def walk(client: TestClient, url: str, step: int, keyed: bool = True) -> list[list[str]]:
    """Follow the next (``step`` 1) or previous (-1) page's link to the end."""
    seen: list[list[str]] = []
    while len(seen) < 10:
        page = client.get("/admin/story/" + url).text
        seen.append(titles(page))
        current = int(re.findall(r'aria-current="page">(\d+)<', page)[0])
        following = page_urls(page).get(str(current + step))
        if following is None:
            return seen
        if current + step > 1:
            assert (("after=" if step > 0 else "before=") in following) == keyed
        url = following
    raise AssertionError(f"no end after 10 pages: {seen}")


@pytest.mark.parametrize("order", ["title", "-views", "-created_at"])
def test_next_and_previous_pages_are_found_by_key(db_url: str, order: str) -> None:
    app, db, admin = make_app(db_url)
    admin.unregister(Story)
    # created_at: the database's clock, in the same second for many rows.
    admin.register(Story, StoryAdmin, list_display=("title", "views", "created_at"))
    with serve(app, db) as client:
        writer = add_writer(client, "Ann")
        for number in range(11):  # per_page is 3; views repeat, so the key holds the id too
            add_story(client, f"s{number:02}", writer, views=number % 2)
        # SQLite keeps dates as text (a server default without microseconds): no keyset.
        keyed = not (order == "-created_at" and db_url.startswith("sqlite"))
        everything = [t for page in walk(client, f"?o={order}", 1, keyed) for t in page]
        assert sorted(everything) == [f"s{n:02}" for n in range(11)]
        assert len(set(everything)) == 11
        backwards = walk(client, f"?o={order}&p=last", -1, keyed)
        assert [t for page in reversed(backwards) for t in page] == everything
        # The numbers still say where you are, and the page by number agrees with the key.
        second = client.get(f"/admin/story/?o={order}&p=2").text
        third = client.get("/admin/story/" + page_urls(second)["3"]).text
        assert titles(third) == titles(client.get(f"/admin/story/?o={order}&p=3").text)
        assert 'aria-current="page">3<' in third


def test_deep_pages_are_linked_by_key_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_links, "CHEAP_OFFSET", 2)  # rows a page link may skip
    app, db, _ = make_app(sqlite(tmp_path))
    with serve(app, db) as client:
        writer = add_writer(client, "Ann")
        for number in range(20):  # 7 pages of 3
            add_story(client, f"s{number:02}", writer)
        links = page_urls(client.get("/admin/story/?o=title").text)
        assert sorted(links, key=int) == ["2", "7"]  # 3 would skip 6 rows
        assert "after=" in links["2"]
        for number in ("2", "3"):  # the next page's link, twice
            links = page_urls(client.get("/admin/story/" + links[number]).text)
        assert "after=" in links["4"]
        fourth = client.get("/admin/story/" + links["4"]).text
        assert titles(fourth) == ["s09", "s10", "s11"]
        links = page_urls(fourth)
        # 2 would skip 3 rows; 6 is read from the end, skipping 2.
        assert sorted(links, key=int) == ["1", "3", "5", "6", "7"]
        assert "before=" in links["3"]
        assert "after=" in links["5"]
        assert "=" not in links["6"].replace("o=title", "").replace("p=6", "")


def test_a_key_that_does_not_fit_is_ignored(tmp_path: Path) -> None:
    app, db, _ = make_app(sqlite(tmp_path))
    with serve(app, db) as client:
        writer = add_writer(client, "Ann")
        for number in range(7):
            add_story(client, f"s{number}", writer)
        by_number = titles(client.get("/admin/story/?o=title&p=2").text)
        assert by_number == ["s3", "s4", "s5"]
        for key in ("nonsense", '["s2"', "[1,2]", '["s2","x","y"]', '["s2","9999999999999"]'):
            for direction in ("after", "before"):
                response = client.get(
                    "/admin/story/", params={"o": "title", "p": "2", direction: key}
                )
                assert response.status_code == 200
        # "-views" keys hold a number and the id: a word is no number, so page 2 by number.
        response = client.get(
            "/admin/story/", params={"o": "-views", "p": "2", "after": '["x","1"]'}
        )
        assert titles(response.text) == titles(client.get("/admin/story/?o=-views&p=2").text)
        # Keys past either end: the last page, or the first.
        assert titles(
            client.get("/admin/story/", params={"o": "title", "p": "3", "after": '["s9"]'}).text
        ) == ["s6"]
        assert titles(
            client.get("/admin/story/", params={"o": "title", "p": "2", "before": '["s1"]'}).text
        ) == ["s0", "s1", "s2"]
