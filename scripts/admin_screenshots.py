"""Make the admin's screenshots in docs/admin/: run ``python scripts/admin_screenshots.py``.

It serves the browser tests' blog (tests/admin/browser_app.py) on a fresh SQLite file with
uvicorn, and drives Debian's Chromium (``/usr/bin/chromium``, headless) with Playwright:
the index, a changelist, a change form with an error, a foreign key searched as you type,
the phone layout (375 x 812) and the dark mode (``prefers-color-scheme: dark``).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "admin"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

sys.path.insert(0, str(ROOT / "tests"))
from _servers import running, uvicorn_command  # noqa: E402


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        os.environ["ADMIN_BROWSER_DB"] = str(Path(folder) / "blog.sqlite3")
        apps = ROOT / "tests" / "admin"
        with (
            running({"blog": uvicorn_command("browser_app:app")}, cwd=apps) as servers,
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=ARGS
            )
            try:
                shoot(browser, servers["blog"].url)
            finally:
                browser.close()


def shoot(browser: object, url: str) -> None:
    desktop = browser.new_context(  # type: ignore[attr-defined]
        base_url=url, viewport={"width": 1200, "height": 760}
    )
    page = desktop.new_page()
    page.goto("/admin/login/")
    page.screenshot(path=str(OUT / "login.png"))
    page.fill("#id_username", "ada")
    page.fill("#id_password", "pw")
    page.click("text=Log in")
    page.goto("/admin/post/1/change/")
    page.click("button[name=_continue]")  # a first history entry, for the index
    page.goto("/admin/")
    page.screenshot(path=str(OUT / "index.png"))
    page.goto("/admin/post/?published__exact=true")
    page.screenshot(path=str(OUT / "changelist.png"))
    page.goto("/admin/post/1/change/")
    page.fill("#id_title", "")
    page.click("button[name=_save]")
    page.screenshot(path=str(OUT / "change-form-errors.png"), full_page=True)
    page.goto("/admin/comment/add/")
    page.click("#id_author_id")
    page.keyboard.type("e")
    page.get_by_role("option", name="eve").wait_for()
    page.keyboard.press("ArrowDown")
    page.screenshot(path=str(OUT / "autocomplete.png"))
    state = desktop.storage_state()
    phone = browser.new_context(  # type: ignore[attr-defined]
        base_url=url,
        viewport={"width": 375, "height": 812},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
        storage_state=state,
    )
    mobile = phone.new_page()
    mobile.goto("/admin/post/")
    mobile.screenshot(path=str(OUT / "phone-changelist.png"))
    dark = browser.new_context(  # type: ignore[attr-defined]
        base_url=url,
        viewport={"width": 1200, "height": 760},
        color_scheme="dark",
        storage_state=state,
    )
    night = dark.new_page()
    night.goto("/admin/post/1/change/")
    night.screenshot(path=str(OUT / "dark-change-form.png"))
    for context in (desktop, phone, dark):
        context.close()
    print(f"screenshots written to {OUT}")


if __name__ == "__main__":
    main()
