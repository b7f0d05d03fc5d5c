"""The log-in and sign-up pages are rate limited per address by default, as configured."""

from __future__ import annotations

from pathlib import Path

import httpx
from test_auth_pages import _app, _post

from plait.testing import TestClient


def test_log_in_attempts_are_limited_by_default(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'auth.sqlite3'}"
    with TestClient(_app(url, tmp_path), follow_redirects=False) as client:
        wrong = {"username": "ada", "password": "guess"}
        statuses = [_post(client, "/login", wrong).status_code for _ in range(5)]
        assert statuses == [200] * 5  # the form again, with its error
        # A sliding window: the 6th attempt is refused, or the 7th if a window's edge fell
        # between them (the previous window then weighs a little less).
        refused: httpx.Response = _post(client, "/login", wrong)
        if refused.status_code != 429:
            refused = _post(client, "/login", wrong)
        assert refused.status_code == 429
        assert "Too many attempts" in refused.text
        assert 0 < int(refused.headers["retry-after"]) <= 60
        assert refused.headers["ratelimit-remaining"] == "0"
        assert client.get("/login").status_code == 200  # showing the page is not an attempt


def test_sign_ups_are_limited_and_limits_are_configurable(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'auth.sqlite3'}"
    app = _app(url, tmp_path, limits={"signup_limit": "2/hour", "login_limit": None})
    with TestClient(app, follow_redirects=False) as client:
        form = {"username": "a b", "password": "x", "password2": "y"}  # invalid: fast
        assert [_post(client, "/signup", form).status_code for _ in range(3)] == [200, 200, 429]
        wrong = {"username": "ada", "password": "guess"}
        assert all(_post(client, "/login", wrong).status_code == 200 for _ in range(7))
