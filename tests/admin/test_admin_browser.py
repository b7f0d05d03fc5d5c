"""The admin in a real browser: Playwright driving Debian's Chromium (headless).

One server (uvicorn, browser_app.py on a SQLite file) and one browser for the module; each
test opens its own context (cookies) and logs in with a stored session. Skipped when
Playwright or /usr/bin/chromium is missing, unless CI requires them
(PLAIT_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _servers import Server, running, uvicorn_command
from _services import service_unavailable

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 375, "height": 812}
HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("admin-browser") / "blog.sqlite3"


@pytest.fixture(scope="module")
def server(database: Path) -> Iterator[Server]:
    import os

    os.environ["ADMIN_BROWSER_DB"] = str(database)
    try:
        with running({"blog": uvicorn_command("browser_app:app")}, cwd=HERE) as servers:
            yield servers["blog"]
    finally:
        del os.environ["ADMIN_BROWSER_DB"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        service_unavailable("Playwright", "pip install playwright (the dev extra)")
    if not CHROMIUM.exists():
        service_unavailable("Chromium", f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def sessions(browser: Any, server: Server, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Log each user in once; tests start signed in from the stored cookies."""
    folder = tmp_path_factory.mktemp("admin-browser-sessions")
    stored: dict[str, str] = {}

    def signed_in(username: str) -> str:
        if username not in stored:
            context = browser.new_context()
            page = context.new_page()
            page.goto(server.url + "/admin/")
            page.fill("#id_username", username)
            page.fill("#id_password", "pw")
            page.click("text=Log in")
            page.wait_for_load_state()
            path = folder / f"{username}.json"
            context.storage_state(path=str(path))
            context.close()
            stored[username] = str(path)
        return stored[username]

    return signed_in


@pytest.fixture
def page_as(browser: Any, sessions: Any, server: Server) -> Iterator[Any]:
    contexts: list[Any] = []

    def open_page(username: str | None, **options: Any) -> Any:
        state = sessions(username) if username else None
        context = browser.new_context(base_url=server.url, storage_state=state, **options)
        context.set_default_timeout(5000)  # a page answers in milliseconds; fail fast
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def row(database: Path, query: str, *params: Any) -> Any:
    with sqlite3.connect(database) as connection:
        return connection.execute(query, params).fetchone()


def test_logging_in_and_out(page_as: Any) -> None:
    page = page_as(None)
    page.goto("/admin/post/")
    assert page.url.endswith("/admin/login/?next=/admin/post/")
    assert page.get_attribute("#id_password", "autocomplete") == "current-password"
    page.fill("#id_username", "ada")
    page.fill("#id_password", "wrong")
    page.click("text=Log in")
    assert "for a staff account" in page.inner_text(".errornote")
    page.fill("#id_password", "pw")
    page.click("text=Log in")
    assert page.url.endswith("/admin/post/")
    page.click("text=Log out")
    assert page.url.endswith("/admin/login/")
    page.goto("/admin/")
    assert "/admin/login/" in page.url


def test_a_user_who_is_not_staff_is_refused(page_as: Any) -> None:
    page = page_as(None)
    page.goto("/admin/login/")
    # By keyboard: the username has the focus, Tab goes to the password, Enter submits.
    assert page.evaluate("document.activeElement.id") == "id_username"
    page.keyboard.type("bob")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "id_password"
    page.keyboard.type("pw")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    assert "for a staff account" in page.inner_text(".errornote")
    page.goto("/admin/")
    assert "/admin/login/" in page.url


def test_saving_untouched_keeps_every_byte(page_as: Any, database: Path) -> None:
    before = row(database, "SELECT * FROM post WHERE title = 'The first post'")
    page = page_as("ada")
    page.goto("/admin/post/")
    page.click("text=The first post")
    assert page.input_value("#id_body") == "The first post.\nIt has two lines"
    page.click("button[name=_continue]")
    assert "was changed successfully" in page.inner_text(".message")
    assert row(database, "SELECT * FROM post WHERE id = ?", before[0]) == before


def test_select_all_ticks_every_row(page_as: Any) -> None:
    page = page_as("ada")
    page.goto("/admin/comment/")
    assert page.inner_text("thead").strip().startswith("COMMENT")
    page.check("input.select-all")
    boxes = page.locator("input[name=_selected]")
    assert boxes.count() >= 2  # the inline test may have added one
    assert all(boxes.nth(i).is_checked() for i in range(boxes.count()))
    page.uncheck("input.select-all")
    page.click("text=Delete selected")
    assert "Items must be selected" in page.inner_text(".message-warning")


def test_the_phone_layout_does_not_scroll_sideways(page_as: Any) -> None:
    page = page_as("ada", viewport=PHONE, is_mobile=True, has_touch=True)
    for url in ("/admin/", "/admin/post/", "/admin/post/1/change/", "/admin/comment/add/"):
        page.goto(url)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (url, width)
        header = page.evaluate("document.querySelector('.site-header').offsetWidth")
        assert header == width, url
    page.emulate_media(color_scheme="dark")  # dark mode follows prefers-color-scheme
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(13, 17, 23)"


def test_staff_without_delete_sees_no_delete_button_and_gets_403(page_as: Any) -> None:
    page = page_as("eve")
    page.goto("/admin/")
    assert page.locator("a", has_text="Posts").count() == 1
    assert page.locator("a", has_text="Comments").count() == 0
    page.click("text=Posts")
    assert page.locator("button[value=delete_selected]").count() == 0
    assert page.locator("button[value=publish]").count() == 1  # she may change posts
    assert page.locator("text=Add post").count() == 0
    page.click("text=The first post")
    assert page.locator("button[name=_save]").count() == 1
    assert page.locator("a.deletelink").count() == 0
    response = page.goto("/admin/post/1/delete/")
    assert response is not None
    assert response.status == 403
    assert "You may not delete these records." in page.inner_text("main")


def test_search_filter_and_sort(page_as: Any) -> None:
    page = page_as("ada")
    page.goto("/admin/post/")
    page.fill("input[name=q]", "second")
    page.press("input[name=q]", "Enter")
    assert page.locator("tbody tr").count() == 1
    assert "1 result" in page.inner_text(".search .count")
    page.goto("/admin/post/")
    page.click(".filters >> text=Yes")
    titles = page.locator("tbody th a").all_inner_texts()
    assert "The first post" in titles
    assert "A second post" not in titles
    page.click("thead >> text=Title")
    assert page.get_attribute("thead th.sorted", "aria-sort") == "ascending"
    assert "published__exact=true" in page.url  # the filter is kept
    page.click("thead >> text=Title")
    assert page.get_attribute("thead th.sorted", "aria-sort") == "descending"


def test_create_then_edit_with_a_validation_error_then_fix_it(page_as: Any, database: Path) -> None:
    page = page_as("ada")
    page.goto("/admin/post/")
    page.click("text=Add post")
    page.fill("#id_title", "Made in a browser")
    page.fill("#id_body", "Line one\nLine two")
    page.select_option("#id_author_id", label="eve")
    page.click("button[name=_continue]")
    assert "was added successfully" in page.inner_text(".message")
    assert row(database, "SELECT body FROM post WHERE title = 'Made in a browser'") == (
        "Line one\r\nLine two",
    )
    page.fill("#id_title", "")
    page.click("button[name=_save]")
    assert "Please correct the error below." in page.inner_text(".errornote")
    assert page.get_attribute("#id_title", "aria-invalid") == "true"
    assert "This field is required." in page.inner_text("#id_title_error")
    assert page.input_value("#id_body") == "Line one\nLine two"  # what was typed is kept
    page.fill("#id_title", "Made and fixed")
    page.click("button[name=_save]")
    assert "was changed successfully" in page.inner_text(".message")
    assert row(database, "SELECT count(*) FROM post WHERE title = 'Made and fixed'") == (1,)


def test_a_bulk_action_and_a_bulk_delete_with_confirmation(page_as: Any, database: Path) -> None:
    page = page_as("ada")
    page.goto("/admin/post/?q=third")
    page.check("input[name=_selected]")
    page.click("text=Mark as published")
    assert "1 posts published." in page.inner_text(".message")
    assert row(database, "SELECT published FROM post WHERE title = 'A third post'") == (1,)
    page.goto("/admin/post/?q=third")
    page.check("input.select-all")
    page.click("text=Delete selected posts")
    assert "Are you sure you want to delete these 1 post?" in page.inner_text("main")
    page.click("text=Yes, delete them")
    assert "Successfully deleted 1 post." in page.inner_text(".message")
    assert row(database, "SELECT count(*) FROM post WHERE title = 'A third post'") == (0,)


def test_an_inline_add(page_as: Any, database: Path) -> None:
    page = page_as("ada")
    page.goto("/admin/post/1/change/")
    rows = page.locator("#comment-group tbody tr")
    assert rows.count() == 3  # its two comments and a blank row
    page.fill("#id_comment-2-body", "Added inline")
    page.focus("#id_comment-2-author_id")  # searched as you type
    page.keyboard.type("ad")
    page.locator("#id_comment-2-author_id_listbox").get_by_role("option", name="ada").wait_for()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.click("button[name=_continue]")
    assert "was changed successfully" in page.inner_text(".message")
    added = "SELECT post_id, author_id FROM comment WHERE body = 'Added inline'"
    assert row(database, added) == (
        1,
        row(database, "SELECT id FROM auth_user WHERE username = 'ada'")[0],
    )
    assert page.locator("#comment-group tbody tr").count() == 4


def test_the_date_hierarchy_drills_down_and_keeps_the_sort(page_as: Any) -> None:
    page = page_as("ada")
    page.goto("/admin/post/?o=title")
    total = page.locator("tbody tr").count()
    dates = page.locator("nav.date-hierarchy a")
    page.focus("nav.date-hierarchy a")  # by keyboard: the year (every post is from today)
    page.keyboard.press("Enter")
    page.wait_for_url("**created__year=*")
    for level in ("month", "day"):  # after the link up a level
        dates.nth(1).click()
        page.wait_for_url(f"**created__{level}=*")
    assert "o=title" in page.url
    assert page.locator("tbody tr").count() == total
    assert page.locator("nav.date-hierarchy [aria-current]").count() == 1
    dates.first.click()  # up to the month
    page.wait_for_url(lambda url: "created__month=" in url and "created__day" not in url)


def test_a_foreign_key_searched_as_you_type(page_as: Any, database: Path) -> None:
    page = page_as("ada")
    page.goto("/admin/comment/add/")
    page.fill("#id_body", "Typed, not picked from a list.")
    page.select_option("#id_post_id", label="A second post")
    box = page.get_by_role("combobox", name=re.compile("^Author"))
    box.focus()
    page.keyboard.type("ev")
    eve = page.get_by_role("option", name="eve")
    eve.wait_for()
    assert box.get_attribute("aria-expanded") == "true"
    page.keyboard.press("ArrowDown")
    assert box.get_attribute("aria-activedescendant") == eve.get_attribute("id")
    page.keyboard.press("Enter")  # picks the answer; it does not send the form
    assert box.input_value() == "eve"
    assert box.get_attribute("aria-expanded") == "false"
    assert page.url.endswith("/admin/comment/add/")
    page.click("button[name=_continue]")
    assert "was added successfully" in page.inner_text(".message")
    (eve_id,) = row(database, "SELECT id FROM auth_user WHERE username = 'eve'")
    (author_id,) = row(database, "SELECT author_id FROM comment WHERE body LIKE 'Typed%'")
    assert author_id == eve_id
    # The change page shows the row's name.
    assert page.get_by_role("combobox", name=re.compile("^Author")).input_value() == "eve"
