"""Security review of plait.templates: what is autoescaped by default."""

from __future__ import annotations

from pathlib import Path

import pytest

from plait import App, Request, Response
from plait.templates import Templates
from plait.templates._templates import PLAIN_TEXT_EXTENSIONS
from plait.testing import TestClient

XSS = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.mark.parametrize(
    "name",
    ["page.jinja2", "page.j2", "page.html.jinja2", "page.htm.j2", "page.tmpl", "page", "PAGE.HTML"],
)
def test_html_pages_with_any_template_name_are_escaped(tmp_path: Path, name: str) -> None:
    # Django's Jinja2 backend escapes every template; an unknown extension is no reason to
    # render request data unescaped into an HTML response.
    (tmp_path / name).write_text("<p>{{ comment }}</p>")
    app = App()
    templates = Templates(app, tmp_path)

    @app.get("/")
    def page(request: Request) -> Response:
        return templates.render(request, name, {"comment": XSS})

    with TestClient(app) as client:
        response = client.get("/")
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == f"<p>{ESCAPED}</p>"


@pytest.mark.parametrize("extension", PLAIN_TEXT_EXTENSIONS)
def test_plain_text_templates_are_not_escaped(tmp_path: Path, extension: str) -> None:
    (tmp_path / f"mail.{extension}").write_text("Hi {{ name }}")
    templates = Templates(directory=tmp_path)
    assert templates.render_string(f"mail.{extension}", {"name": "<Ann>"}) == "Hi <Ann>"
