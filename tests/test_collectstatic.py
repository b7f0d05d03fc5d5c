"""``plait collectstatic``, ``static_url`` and how collected files are served."""

from __future__ import annotations

import gzip
import io
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from plait import App, Request, cli
from plait._progress import Progress
from plait.testing import TestClient

CSS = b"body { color: rebeccapurple }\n" * 40  # big enough to be worth compressing
APP = """
from pathlib import Path

from plait import App

HERE = Path(__file__).parent
app = App()
app.static("/static", HERE / "static", name="static")
app.static("/vendor/assets", HERE / "vendor", name="vendor")  # a battery's, say
"""


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "static" / "css").mkdir(parents=True)
    (tmp_path / "static" / "css" / "app.css").write_bytes(CSS)
    (tmp_path / "static" / "logo.png").write_bytes(b"\x89PNG fake")
    (tmp_path / "static" / ".env").write_text("SECRET=1")  # hidden files are not published
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "lib.min.js").write_text("console.log(1)")
    (tmp_path / "collected_site.py").write_text(APP)
    path, modules = list(sys.path), set(sys.modules)
    yield tmp_path
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        if name.startswith("collected_"):
            del sys.modules[name]


def build(project: Path, *, debug: bool) -> App:
    namespace: dict[str, object] = {"__file__": str(project / "collected_site.py")}
    exec(APP.replace("App()", f"App(debug={debug})"), namespace)
    app = namespace["app"]
    assert isinstance(app, App)
    return app


def collect(project: Path, *args: str) -> str:
    result = CliRunner().invoke(
        cli.main, ["collectstatic", "collected_site:app", "--app-dir", str(project), *args]
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_collectstatic_hashes_compresses_and_writes_a_manifest(project: Path) -> None:
    out = collect(project, "-o", str(project / "dist"))
    assert "Collected 13 file(s) from 4 folder(s)" in out  # with the API docs' 10
    docs = json.loads((project / "dist/docs/static/staticfiles.json").read_text())["paths"]
    assert docs["swagger-ui.css"].startswith("swagger-ui.")
    assert (project / "dist/docs/static/swagger-ui-bundle.js.gz").is_file()
    assert (project / "dist/redoc/static/redoc.standalone.js").is_file()
    static = project / "dist" / "static"
    manifest = json.loads((static / "staticfiles.json").read_text())["paths"]
    assert set(manifest) == {"css/app.css", "logo.png"}
    hashed = manifest["css/app.css"]
    assert hashed.startswith("css/app.")
    assert hashed.endswith(".css")
    assert len(hashed) == 24
    assert (static / hashed).read_bytes() == CSS == (static / "css/app.css").read_bytes()
    assert gzip.decompress((static / (hashed + ".gz")).read_bytes()) == CSS
    assert not (static / "logo.png.gz").exists()  # too small, and not text
    assert not (static / ".env").exists()
    vendor = json.loads((project / "dist/vendor/assets/staticfiles.json").read_text())["paths"]
    assert vendor["lib.min.js"].startswith("lib.min.")
    assert vendor["lib.min.js"].endswith(".js")
    # Same content, same names: a second run is the same; a change gets a new name.
    collect(project, "-o", str(project / "dist"))
    assert json.loads((static / "staticfiles.json").read_text())["paths"] == manifest
    (project / "static" / "css" / "app.css").write_bytes(CSS + b"p {}")
    collect(project, "-o", str(project / "dist"), "--no-compress")
    again = json.loads((static / "staticfiles.json").read_text())["paths"]
    assert again["css/app.css"] != hashed
    assert not (static / hashed).exists()  # the old run's files are gone
    assert not list(static.rglob("*.gz"))


def test_without_api_docs_only_the_apps_own(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAIT_API_DOCS", "0")
    out = collect(project, "-o", str(project / "dist"))
    assert "Collected 3 file(s) from 2 folder(s)" in out
    assert not (project / "dist" / "docs").exists()


def test_collectstatic_default_folder_and_refusals(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    monkeypatch.setenv("PLAIT_STATIC_ROOT", "public")
    collect(project)
    assert (project / "public" / "static" / "staticfiles.json").is_file()
    (project / "mine" / "static").mkdir(parents=True)
    (project / "mine" / "static" / "notes.txt").write_text("keep me")
    result = CliRunner().invoke(
        cli.main, ["collectstatic", "collected_site:app", "--app-dir", str(project), "-o", "mine"]
    )
    assert result.exit_code == 1
    assert "was not made by collectstatic" in result.output
    assert (project / "mine" / "static" / "notes.txt").read_text() == "keep me"
    monkeypatch.setenv("PLAIT_API_DOCS", "0")  # else the docs pages' files are there
    (project / "bare.py").write_text("from plait import App\napp = App()\n")
    result = CliRunner().invoke(cli.main, ["collectstatic", "bare:app", "--app-dir", str(project)])
    assert result.exit_code == 1
    assert "serves no static files" in result.output


def test_production_serves_hashed_names_immutable_and_precompressed(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    collect(project, "-o", str(project / "dist"))
    (project / "dist" / "static" / "css" / "app.css.br").write_bytes(b"brotli bytes")
    monkeypatch.setenv("PLAIT_STATIC_ROOT", str(project / "dist"))
    app = build(project, debug=False)
    with TestClient(app) as client:
        url = app.static_url("css/app.css")
        assert url.startswith("/static/css/app.")
        assert url != "/static/css/app.css"
        assert app.static_url("lib.min.js", name="vendor").startswith("/vendor/assets/lib.min.")
        assert app.static_url("not/collected.js") == "/static/not/collected.js"
        plain = client.get(url, headers={"accept-encoding": "identity"})
        assert plain.content == CSS
        assert plain.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert plain.headers["vary"] == "Accept-Encoding"
        assert "content-encoding" not in plain.headers
        zipped = client.get(url, headers={"accept-encoding": "gzip"})
        assert zipped.headers["content-encoding"] == "gzip"
        assert zipped.headers["content-type"] == "text/css; charset=utf-8"
        assert zipped.content == CSS  # httpx decodes it
        refused = client.get(url, headers={"accept-encoding": "gzip;q=0"})
        assert "content-encoding" not in refused.headers
        # The unhashed name is served too (for references inside CSS), cached briefly.
        source = client.get("/static/css/app.css", headers={"accept-encoding": "br, gzip"})
        assert source.headers["content-encoding"] == "br"
        assert source.content == b"brotli bytes"
        assert source.headers["cache-control"] == "public, max-age=3600"


def test_debug_serves_the_sources(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    collect(project, "-o", str(project / "dist"))
    monkeypatch.setenv("PLAIT_STATIC_ROOT", str(project / "dist"))
    (project / "static" / "css" / "app.css").write_bytes(b"edited")
    app = build(project, debug=True)
    with TestClient(app) as client:
        assert app.static_url("css/app.css") == "/static/css/app.css"
        response = client.get("/static/css/app.css")
        assert response.content == b"edited"
        assert response.headers["cache-control"] == "public, max-age=3600"


def test_static_url_in_templates(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from plait.templates import Templates

    collect(project, "-o", str(project / "dist"))
    monkeypatch.setenv("PLAIT_STATIC_ROOT", str(project / "dist"))
    app = build(project, debug=False)
    (project / "page.html").write_text("{{ static_url('css/app.css') }} {{ static('logo.png') }}")
    templates = Templates(app, project)

    @app.get("/")
    def page(request: Request) -> object:
        return templates.render(request, "page.html")

    with TestClient(app) as client:
        css, logo = client.get("/").text.split()
    assert css == app.static_url("css/app.css") != "/static/css/app.css"
    assert logo.startswith("/static/logo.")
    assert logo.endswith(".png")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_only() -> None:
    terminal = Terminal()
    with Progress("copying", total=4, delay=0, interval=0.01, stream=terminal) as progress:
        progress.advance(2)
        deadline = time.monotonic() + 10
        while "2/4 (50%)" not in terminal.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
    assert "copying 2/4 (50%)" in terminal.getvalue()
    assert "\r\x1b[Kcopying: done (" in terminal.getvalue()
    assert terminal.getvalue().endswith(" s)\n")
    piped = io.StringIO()
    with Progress("copying", total=4, delay=0, stream=piped) as progress:
        progress.advance(4)
    assert piped.getvalue() == ""
    quick = Terminal()
    with Progress("copying", stream=quick):  # done within its first second: nothing shown
        pass
    assert quick.getvalue() == ""


def test_the_admins_files_are_collected_too(tmp_path: Path) -> None:
    from plait._collectstatic import collect_static, static_folders
    from plait.admin import Admin
    from plait.db import Database

    app = App(openapi_url=None)
    Admin(app, Database(app, "sqlite+aiosqlite://"), prefix="/staff", csrf_required=False)
    assert list(static_folders(app)) == ["/staff/static"]
    collect_static(app, tmp_path)
    manifest = json.loads((tmp_path / "staff/static/staticfiles.json").read_text())["paths"]
    assert manifest["admin.css"].startswith("admin.")
    assert (tmp_path / "staff/static/admin.css").read_bytes() == (
        Path(__file__).parent.parent / "src/plait/admin/static/admin.css"
    ).read_bytes()


def test_stylesheets_point_to_hashed_files(tmp_path: Path) -> None:
    from plait._collectstatic import collect_static

    static = tmp_path / "static"
    (static / "img").mkdir(parents=True)
    (static / "css").mkdir()
    (static / "img" / "logo.png").write_bytes(b"\x89PNG logo")
    (static / "css" / "base.css").write_text("p { margin: 0 }")
    (static / "css" / "app.css").write_text(
        '@import "base.css";\n'
        "h1 { background: url(../img/logo.png?v=2); }\n"
        "h2 { background: url('data:image/png;base64,AAAA'); }\n"
        'h3 { background: url("https://cdn.example.com/x.png"); }\n'
        "h4 { background: url(../img/missing.png); }\n"
    )
    app = App(openapi_url=None)
    app.static("/static", static, name="static")
    collect_static(app, tmp_path / "out")
    out = tmp_path / "out" / "static"
    manifest = json.loads((out / "staticfiles.json").read_text())["paths"]
    hashed_css = (out / manifest["css/app.css"]).read_text()
    logo, base = manifest["img/logo.png"], manifest["css/base.css"]
    assert f"url(../{logo}?v=2)" in hashed_css
    assert f'@import "{base.removeprefix("css/")}"' in hashed_css
    assert "data:image/png;base64,AAAA" in hashed_css
    assert "https://cdn.example.com/x.png" in hashed_css
    assert "url(../img/missing.png)" in hashed_css  # not collected: left alone
    # The plain name keeps the source as it is.
    assert (out / "css/app.css").read_text() == (static / "css" / "app.css").read_text()
