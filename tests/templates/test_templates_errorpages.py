"""HTML error pages: 404.html, 403.html, 405.html, 500.html for browsers, problem JSON for API
clients, and a custom handler falling back to the default answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from plait import App, HTTPException, RedirectResponse, Request, Response
from plait.templates import Templates
from plait.testing import TestClient

BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
API = {"accept": "application/json"}

PAGES = {
    "base.html": "<title>{% block title %}{% endblock %}</title>{% block body %}{% endblock %}",
    "404.html": '{% extends "base.html" %}{% block title %}Lost{% endblock %}'
    "{% block body %}No page at {{ request.url.path }}: {{ title }}{% endblock %}",
    "403.html": '{% extends "base.html" %}'
    "{% block body %}Keep out ({{ status_code }}){% endblock %}",
    "405.html": '{% extends "base.html" %}{% block body %}{{ title }}{% endblock %}',
    "500.html": '{% extends "base.html" %}{% block body %}Sorry! [{{ detail }}]{% endblock %}',
}


def _app(tmp_path: Path, pages: dict[str, str] = PAGES, **options: bool) -> App:
    for name, text in pages.items():
        (tmp_path / name).write_text(text)
    app = App(**options)
    Templates(app, tmp_path)

    @app.get("/forbidden")
    def forbidden() -> str:
        raise HTTPException(403, "Members only")

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    @app.get("/conflict")
    def conflict() -> str:
        raise HTTPException(409, "Taken")

    @app.get("/unavailable")
    def unavailable() -> str:
        raise HTTPException(503, headers={"Retry-After": "5"})

    return app


def test_browsers_get_the_templates_by_status(tmp_path: Path) -> None:
    with TestClient(_app(tmp_path)) as client:
        missing = client.get("/nowhere", headers=BROWSER)
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "text/html; charset=utf-8"
        assert missing.text == "<title>Lost</title>No page at /nowhere: Not Found"
        forbidden = client.get("/forbidden", headers=BROWSER)
        assert (forbidden.status_code, forbidden.text) == (403, "<title></title>Keep out (403)")
        wrong = client.post("/forbidden", headers=BROWSER)
        assert (wrong.status_code, wrong.headers["allow"]) == (405, "GET, HEAD")
        assert wrong.text == "<title></title>Method Not Allowed"
        boom = client.get("/boom", headers=BROWSER)
        assert boom.status_code == 500
        assert boom.text == "<title></title>Sorry! []"  # nothing of the exception leaks


def test_api_clients_get_problem_json(tmp_path: Path) -> None:
    with TestClient(_app(tmp_path)) as client:
        for headers in (API, {}, {"accept": "*/*"}):
            missing = client.get("/nowhere", headers=headers)
            assert missing.status_code == 404
            assert missing.headers["content-type"] == "application/problem+json"
            assert missing.json()["status"] == 404
        assert client.get("/boom", headers=API).json()["status"] == 500


def test_statuses_without_a_template_get_a_plain_html_page(tmp_path: Path) -> None:
    with TestClient(_app(tmp_path)) as client:
        conflict = client.get("/conflict", headers=BROWSER)
        assert conflict.status_code == 409
        assert conflict.headers["content-type"] == "text/html; charset=utf-8"
        assert "<h1>409 Conflict</h1>" in conflict.text
        assert "Taken" in conflict.text
        unavailable = client.get("/unavailable", headers=BROWSER)
        assert (unavailable.status_code, unavailable.headers["retry-after"]) == (503, "5")


def test_an_error_page_that_fails_falls_back_to_the_plain_page(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pages = {**PAGES, "404.html": "{{ 1 / 0 }}"}
    with TestClient(_app(tmp_path, pages)) as client:
        missing = client.get("/nowhere", headers=BROWSER)
    assert missing.status_code == 404
    assert "<h1>404 Not Found</h1>" in missing.text
    assert "404.html failed" in caplog.text


def test_debug_shows_the_traceback_not_500_html(tmp_path: Path) -> None:
    with TestClient(_app(tmp_path, debug=True)) as client:
        boom = client.get("/boom", headers=BROWSER)
    assert boom.status_code == 500
    assert "secret internals" in boom.text


def test_apps_without_templates_keep_problem_json(tmp_path: Path) -> None:
    app = App()

    @app.get("/forbidden")
    def forbidden() -> str:
        raise HTTPException(403)

    with TestClient(app) as client:
        response = client.get("/forbidden", headers=BROWSER)
    assert response.headers["content-type"] == "application/problem+json"


def test_a_custom_handler_falls_back_to_the_default_answer(tmp_path: Path) -> None:
    app = _app(tmp_path)

    @app.exception_handler(404)
    async def not_found(request: Request, exc: HTTPException) -> Response:
        if request.url.path.startswith("/old/"):
            return RedirectResponse("/new/" + request.url.path[5:], status_code=301)
        return await request.app.default_error_response(request, exc)

    @app.exception_handler(403)
    def forbidden(request: Request, exc: HTTPException) -> Response:
        raise exc  # re-raising the exception is the other way back to the default

    with TestClient(app, follow_redirects=False) as client:
        assert client.get("/old/page", headers=BROWSER).headers["location"] == "/new/page"
        page = client.get("/nowhere", headers=BROWSER)
        assert page.status_code == 404
        assert page.text == "<title>Lost</title>No page at /nowhere: Not Found"
        assert client.get("/nowhere", headers=API).json()["status"] == 404
        assert client.get("/forbidden", headers=BROWSER).text == "<title></title>Keep out (403)"
