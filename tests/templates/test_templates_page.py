"""``@templates.page``: handlers returning a context; their OpenAPI entry; the missing extra."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Annotated, Any

import pytest

from plait import App, Depends, Form, HTMLResponse, RedirectResponse, Request, Response
from plait.templates import Templates
from plait.testing import TestClient


@pytest.fixture
def templates_dir(tmp_path: Path) -> Path:
    (tmp_path / "post.html").write_text("<h1>{{ post.title }}</h1>{{ request.url.path }}|{{ q }}")
    (tmp_path / "about.html").write_text("about {{ user }}")
    (tmp_path / "form.html").write_text("error: {{ error }}")
    return tmp_path


def current_user() -> str:
    return "ann"


def test_page_renders_the_returned_context(templates_dir: Path) -> None:
    app = App()
    templates = Templates(app, templates_dir)

    @app.get("/posts/{post_id:int}")
    @templates.page("post.html")
    async def post(post_id: int, q: str = "", n: int = 0) -> dict[str, Any]:
        return {"post": {"title": f"<Post {post_id}>"}, "q": q}

    @app.get("/about")
    @templates.page("about.html", headers={"Cache-Control": "max-age=60"})
    def about(user: Annotated[str, Depends(current_user)]) -> dict[str, Any]:
        return {"user": user}  # a sync handler: runs and renders in the thread pool

    with TestClient(app) as client:
        response = client.get("/posts/3", params={"q": "x"})
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert response.text == "<h1>&lt;Post 3&gt;</h1>/posts/3|x"
        invalid = client.get("/posts/3?n=x")  # the handler's parameters are validated
        assert invalid.status_code == 422
        assert invalid.json()["errors"][0]["loc"] == ["query", "n"]
        about_response = client.get("/about")
        assert about_response.text == "about ann"
        assert about_response.headers["cache-control"] == "max-age=60"
        assert client.head("/about").content == b""


def test_page_passes_responses_through_and_rerenders_with_a_status(templates_dir: Path) -> None:
    app = App()
    templates = Templates(app, templates_dir)

    @app.post("/form")
    @templates.page("form.html", status_code=422)
    async def submit(name: Annotated[str, Form()]) -> dict[str, Any] | Response:
        if name == "ok":
            return RedirectResponse("/done", status_code=303)
        return {"error": "bad name"}

    @app.get("/nothing")
    @templates.page("about.html")
    def nothing() -> None:
        return None

    @app.get("/wrong")
    @templates.page("about.html")
    def wrong() -> Any:
        return ["a list"]

    with TestClient(app, follow_redirects=False) as client:
        redirect = client.post("/form", data={"name": "ok"})
        assert (redirect.status_code, redirect.headers["location"]) == (303, "/done")
        rerender = client.post("/form", data={"name": "no"})
        assert (rerender.status_code, rerender.text) == (422, "error: bad name")
        assert client.get("/nothing").text == "about "
        assert client.get("/wrong").status_code == 500


def test_page_keeps_a_request_parameter_and_reserves_its_own_name(templates_dir: Path) -> None:
    app = App()
    templates = Templates(app, templates_dir)

    @app.get("/about")
    @templates.page("about.html")
    def about(request: Request) -> dict[str, Any]:
        return {"user": request.query_params.get("who", "?")}

    with TestClient(app) as client:
        assert client.get("/about?who=bo").text == "about bo"

    with pytest.raises(TypeError, match="reserved"):

        @templates.page("about.html")
        def clash(_page_request: str) -> dict[str, Any]:
            return {}


def test_pages_are_left_out_of_the_api_document(templates_dir: Path) -> None:
    app = App()
    templates = Templates(app, templates_dir)

    @app.get("/posts/{post_id:int}")
    @templates.page("post.html")
    async def post(post_id: int, q: str = "") -> dict[str, Any]:
        return {"post": {"title": "t"}, "q": q}

    @app.get("/about")
    def about(request: Request) -> HTMLResponse:
        return templates.render(request, "about.html")

    @app.get("/plain")
    def plain(request: Request) -> Response:
        return templates.render(request, "about.html")

    @app.get("/api/posts/{post_id:int}")
    def api_post(post_id: int) -> dict[str, int]:
        return {"id": post_id}

    with TestClient(app) as client:
        schema = client.get("/openapi.json").json()
    # HTML pages are not part of the API: @templates.page and -> HTMLResponse handlers.
    assert set(schema["paths"]) == {"/plain", "/api/posts/{post_id}"}


def test_a_page_can_be_documented_on_request(templates_dir: Path) -> None:
    app = App()
    templates = Templates(app, templates_dir)

    @app.get("/posts/{post_id:int}", include_in_schema=True)
    @templates.page("post.html")
    async def post(post_id: int, q: str = "") -> dict[str, Any]:
        return {"post": {"title": "t"}, "q": q}

    with TestClient(app) as client:
        schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/posts/{post_id}"]["get"]
    assert operation["responses"]["200"]["content"] == {"text/html": {}}
    # The template's own parameter is not part of the API; the handler's are.
    assert [p["name"] for p in operation["parameters"]] == ["post_id", "q"]


def test_missing_jinja2_names_the_extra() -> None:
    # Simulated in a fresh interpreter: a None entry in sys.modules makes the import fail.
    script = textwrap.dedent(
        """
        import sys
        sys.modules["jinja2"] = None
        from plait._optional import MissingDependencyError
        try:
            import plait.templates
        except MissingDependencyError as exc:
            assert isinstance(exc, ImportError)
            print(exc)
        else:
            raise SystemExit("imported without jinja2")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "plait.templates needs the 'jinja2' package: pip install 'plait[templates]'"
    )
