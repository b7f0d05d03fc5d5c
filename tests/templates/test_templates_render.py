"""plait.templates: rendering, escaping, globals from scope keys, context processors, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import pytest

from plait import App, Request, Response
from plait.templates import TemplateNotFound, Templates
from plait.testing import TestClient
from plait.types import ASGIApp, Receive, Scope, Send


def write(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return directory


class ScopeKeys:
    """A tiny middleware standing in for the sessions, auth and CSRF batteries."""

    def __init__(self, app: ASGIApp, **keys: Any) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for key, value in self.keys.items():
                scope[key] = value() if key == "session" else value
        await self.app(scope, receive, send)


def test_render_escapes_html_like_techempower_fortunes(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "fortunes.html": "<table>{% for f in fortunes %}<tr><td>{{ f }}</td></tr>"
            "{% endfor %}</table>",
            "mail.txt": "Hi {{ name }}",
        },
    )
    app = App()
    templates = Templates(app, tmp_path)

    @app.get("/fortunes")
    def fortunes(request: Request) -> Response:
        rows = ['<script>alert("This should not be displayed");</script>', "フレームワーク"]
        return templates.render(request, "fortunes.html", {"fortunes": rows})

    with TestClient(app) as client:
        response = client.get("/fortunes")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == (
        "<table><tr><td>&lt;script&gt;alert(&#34;This should not be displayed&#34;);"
        "&lt;/script&gt;</td></tr><tr><td>フレームワーク</td></tr></table>"
    )
    # A text template (an email body) is not HTML: no escaping; strings are escaped.
    assert templates.render_string("mail.txt", {"name": "<Ann>"}) == "Hi <Ann>"
    assert templates.env.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"


def test_autoescape_can_be_turned_off(tmp_path: Path) -> None:
    write(tmp_path, {"raw.html": "{{ x }}"})
    templates = Templates(directory=tmp_path, autoescape=False)
    assert templates.render_string("raw.html", {"x": "<b>"}) == "<b>"


def test_status_headers_and_media_type(tmp_path: Path) -> None:
    write(tmp_path, {"gone.html": "gone", "feed.xml": "<feed>{{ title }}</feed>"})
    app = App()
    templates = Templates(app, tmp_path)

    @app.get("/gone")
    def gone(request: Request) -> Response:
        return templates.render(request, "gone.html", status_code=410, headers={"X-Why": "old"})

    @app.get("/feed")
    def feed(request: Request) -> Response:
        context = {"title": "a & b"}
        return templates.render(request, "feed.xml", context, media_type="application/atom+xml")

    with TestClient(app) as client:
        response = client.get("/gone")
        assert (response.status_code, response.text) == (410, "gone")
        assert response.headers["x-why"] == "old"
        feed_response = client.get("/feed")
        assert feed_response.headers["content-type"] == "application/atom+xml"
        assert feed_response.text == "<feed>a &amp; b</feed>"


def test_url_for_request_and_root_path(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"links.html": "{{ url_for('post', slug='a b') }}|{{ request.url.path }}|{{ x }}"},
    )
    app = App()
    templates = Templates(app, tmp_path)

    @app.get("/posts/{slug}")
    def post(slug: str) -> str:
        return slug

    @app.get("/links")
    def links(request: Request) -> Response:
        return templates.render(request, "links.html", {"x": 1})

    assets = tmp_path / "assets"
    assets.mkdir()
    app.static("/static", assets, name="static")

    @app.get("/styled")
    def styled(request: Request) -> Response:
        page = templates.env.from_string("{{ static('css/app v2.css') }}")
        return Response(page.render(templates.context(request)))

    with TestClient(app) as client:
        assert client.get("/links").text == "/posts/a%20b|/links|1"
        assert client.get("/styled").text == "/static/css/app%20v2.css"
    with TestClient(app, root_path="/blog") as client:
        assert client.get("/links").text == "/blog/posts/a%20b|/blog/links|1"
    # Without a request (an email), url_for still knows the app's routes.
    assert templates.env.from_string("{{ url_for('post', slug='x') }}").render() == "/posts/x"


def test_globals_read_scope_keys_of_other_batteries(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "page.html": "{{ current_user.name if current_user else 'anon' }}"
            "{% for category, message in get_flashed_messages() %}|{{ category }}:{{ message }}"
            "{% endfor %}|{{ csrf_input() }}|{{ get_flashed_messages() }}",
        },
    )
    app = App()
    templates = Templates(app, tmp_path)
    session: dict[str, Any] = {"_flashes": [["info", "Saved <b>"], ["error", "Oops"]]}

    class User:
        name = "ann"

    app.add_middleware(ScopeKeys, user=User(), session=lambda: session, csrf_token=lambda: "t<k>n")

    @app.get("/")
    def index(request: Request) -> Response:
        return templates.render(request, "page.html")

    with TestClient(app) as client:
        text = client.get("/").text
    assert text == (
        'ann|info:Saved &lt;b&gt;|error:Oops|<input type="hidden" name="csrf_token" '
        'value="t&lt;k&gt;n">|[]'
    )
    assert "_flashes" not in session  # read once, then gone


def test_globals_without_the_batteries(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "page.html": "{{ current_user }}|{{ get_flashed_messages() }}",
            "form.html": "{{ csrf_input() }}",
        },
    )
    app = App(debug=True)
    templates = Templates(app, tmp_path)

    @app.get("/")
    def index(request: Request) -> Response:
        return templates.render(request, "page.html")

    @app.get("/form")
    def form(request: Request) -> Response:
        return templates.render(request, "form.html")

    with TestClient(app) as client:
        assert client.get("/").text == "None|[]"
        response = client.get("/form")
    assert response.status_code == 500
    assert "csrf_token() needs the CSRF middleware: add CSRF(app)" in response.text


def test_context_processors_and_explicit_context_wins(tmp_path: Path) -> None:
    write(tmp_path, {"page.html": "{{ site }}|{{ path }}|{{ title }}|{{ greeting('x') }}"})
    app = App()
    templates = Templates(
        app,
        tmp_path,
        context_processors=[lambda request: {"site": "Blog", "title": "default"}],
        globals={"greeting": lambda name: f"hi {name}"},
    )

    @templates.context_processor
    def path(request: Request) -> dict[str, Any]:
        return {"path": request.url.path}

    @app.get("/here")
    def here(request: Request) -> Response:
        return templates.render(request, "page.html", {"title": "Mine"})

    with TestClient(app) as client:
        assert client.get("/here").text == "Blog|/here|Mine|hi x"


def test_template_not_found_names_where_it_looked(tmp_path: Path) -> None:
    write(tmp_path, {"outer.html": "{% include 'inner.html' %}"})
    app = App(debug=True)
    templates = Templates(app, tmp_path)

    @app.get("/missing")
    def missing(request: Request) -> Response:
        return templates.render(request, "nope.html")

    @app.get("/include")
    def include(request: Request) -> Response:
        return templates.render(request, "outer.html")

    with TestClient(app) as client:
        response = client.get("/missing", headers={"accept": "text/html"})
        assert response.status_code == 500
        assert "TemplateNotFound: Template &#x27;nope.html&#x27; not found" in response.text
        assert str(tmp_path.resolve()) in response.text
        included = client.get("/include")
        assert included.status_code == 500
        assert "Template 'inner.html' not found" in included.text

    with pytest.raises(TemplateNotFound) as info:
        templates.get_template(["a.html", "b.html"])
    assert isinstance(info.value, jinja2.TemplateNotFound)
    assert info.value.searched == [str(tmp_path.resolve())]
    assert "'a.html, b.html'" in str(info.value)


def test_select_template_takes_the_first_that_exists(tmp_path: Path) -> None:
    write(tmp_path, {"b.html": "B"})
    templates = Templates(directory=tmp_path)
    assert templates.render_string(["a.html", "b.html"]) == "B"


def test_undefined_variables_default_and_strict(tmp_path: Path) -> None:
    write(tmp_path, {"p.html": "[{{ missing }}]"})
    assert Templates(directory=tmp_path).render_string("p.html") == "[]"
    strict = Templates(directory=tmp_path, strict_undefined=True)
    with pytest.raises(jinja2.UndefinedError):
        strict.render_string("p.html")


def test_project_templates_override_package_templates(tmp_path: Path) -> None:
    # A battery ships templates in its package; the project's directory wins.
    package = tmp_path / "pkg_with_templates"
    write(package, {"__init__.py": "", "templates/base.html": "battery base|{{ 1 + 1 }}"})
    write(package, {"templates/only.html": "only in the battery"})
    project = write(tmp_path / "project", {"base.html": "project base"})
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        app = App()
        templates = Templates(app, project)
        Templates.of(app).add_package("pkg_with_templates")
        assert templates.render_string("base.html") == "project base"
        assert templates.render_string("only.html") == "only in the battery"
        assert (
            "package pkg_with_templates:templates"
            in templates._not_found(jinja2.TemplateNotFound("x")).searched
        )
        extra = write(tmp_path / "extra", {"extra.html": "extra"})
        templates.add_directory(extra)
        assert templates.render_string("extra.html") == "extra"
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("pkg_with_templates", None)


def test_one_templates_per_app_and_of() -> None:
    app = App()
    with pytest.raises(RuntimeError, match=r"add Templates\(app\)"):
        Templates.of(app)
    templates = Templates(app)
    assert Templates.of(app) is templates
    with pytest.raises(RuntimeError, match="already has templates"):
        Templates(app)


def test_auto_reload_follows_debug(tmp_path: Path) -> None:
    assert Templates(App(debug=True), tmp_path).env.auto_reload is True
    assert Templates(App(), tmp_path).env.auto_reload is False
    assert Templates(App(), tmp_path, auto_reload=True).env.auto_reload is True
    write(tmp_path, {"t.html": "one"})
    templates = Templates(App(debug=True), tmp_path)
    assert templates.render_string("t.html") == "one"
    path = tmp_path / "t.html"
    path.write_text("two")
    import os

    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 5))
    assert templates.render_string("t.html") == "two"


def test_per_template_globals_stay_with_the_template(tmp_path: Path) -> None:
    write(tmp_path, {"t.html": "{{ site }}", "u.html": "{{ site }}"})
    templates = Templates(App(), tmp_path, globals={"site": "one"})
    assert templates.render_string("t.html") == "one"
    assert templates.get_template("t.html") is templates.get_template("t.html")
    extra = templates.env.get_template("t.html", globals={"site": "three"})
    assert extra.render() == "three"
    assert templates.env.globals["site"] == "one"
    assert templates.render_string("u.html") == "one"


def test_a_loader_added_later_is_searched(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    write(first, {"t.html": "first"})
    write(second, {"u.html": "second"})
    templates = Templates(App(), first)
    with pytest.raises(TemplateNotFound):
        templates.get_template("u.html")
    templates.add_directory(second)
    assert templates.render_string("u.html") == "second"
    assert templates.render_string("t.html") == "first"
