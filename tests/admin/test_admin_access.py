"""Who gets in, what start-up checks, and what the admin adds to the app."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from admin_harness import STAFF, Story, Token, User, Who, Writer, add_writer, make_app, serve

from plait import App, Request
from plait.admin import Admin, ModelAdmin
from plait.db import Database
from plait.testing import TestClient
from plait.types import ASGIApp, Receive, Scope, Send


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    app, db, _ = make_app(db_url)
    with serve(app, db) as test_client:
        yield test_client


def test_anonymous_visitors_are_sent_to_the_login_page(client: TestClient) -> None:
    Who.user = None
    response = client.get("/admin/story/?q=a b")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/admin/story/%3Fq%3Da%2520b"
    assert client.post("/admin/story/add/", data={"title": "x"}).status_code == 303
    assert client.get("/admin/").headers["location"] == "/login?next=/admin/"
    # An unknown model is not revealed to anonymous visitors either.
    assert client.get("/admin/nothing/").status_code == 303


def test_signed_in_users_who_are_not_staff_get_403(client: TestClient) -> None:
    for user in (User("bob", is_staff=False), User("old", is_active=False)):
        Who.user = user
        response = client.get("/admin/")
        assert response.status_code == 403
        assert "not allowed" in response.text
        assert client.post("/admin/story/add/", data={"title": "x"}).status_code == 403


def test_the_index_lists_registered_models_by_group(client: TestClient) -> None:
    response = client.get("/admin/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store, private"
    assert response.headers["x-frame-options"] == "DENY"
    assert "<h2>Admin harness</h2>" in response.text
    assert '<a href="/admin/writer/">Writers</a>' in response.text
    assert '<a href="/admin/story/">Stories</a>' in response.text
    assert 'href="/admin/story/add/"' in response.text
    assert "ada" in response.text  # the signed-in user


def test_unknown_models_and_rows_are_404(client: TestClient) -> None:
    assert client.get("/admin/nothing/").status_code == 404
    assert client.get("/admin/story/1/change/").status_code == 404
    assert client.get("/admin/story/abc/change/").status_code == 404
    assert client.get("/admin/story/99999999999999/delete/").status_code == 404


def test_the_stylesheet_is_served_under_the_prefix(client: TestClient) -> None:
    Who.user = None  # the login page may use it too
    response = client.get("/admin/static/admin.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert ".result-list" in response.text


def test_admin_routes_stay_out_of_openapi(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/writers" in paths
    assert not [path for path in paths if path.startswith("/admin")]


@pytest.mark.parametrize("asynchronous", [False, True])
def test_a_permission_rule_narrows_access(db_url: str, asynchronous: bool) -> None:
    def rule(request: Request, action: str, model: type) -> bool:
        assert request.user is STAFF
        return model is Writer or action == "view"

    async def async_rule(request: Request, action: str, model: type) -> bool:
        return rule(request, action, model)

    app, db, _ = make_app(db_url, permission=async_rule if asynchronous else rule)
    with serve(app, db) as client:
        writer = add_writer(client, "Ann")
        index = client.get("/admin/").text
        assert 'href="/admin/writer/add/"' in index
        assert 'href="/admin/story/add/"' not in index  # no "add" on stories
        assert client.get("/admin/story/").status_code == 200
        assert 'href="/admin/story/add/"' not in client.get("/admin/story/").text
        assert client.get("/admin/story/add/").status_code == 403
        assert "_selected" not in client.get("/admin/story/").text  # no bulk delete either
        assert client.post("/admin/story/delete/", data={"_selected": "1"}).status_code == 403
        assert client.post("/admin/story/add/", data={"title": "t"}).status_code == 403
        assert client.get(f"/admin/writer/{writer}/change/").status_code == 200


class CSRFMiddleware:
    """Named like plait.csrf's middleware: what the start-up check looks for."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def test_start_up_fails_without_csrf_protection() -> None:
    app = App()
    Admin(app, Database(app, "sqlite+aiosqlite://"))
    with (
        pytest.raises(RuntimeError, match=r"add CSRF\(app\) \(from plait\.csrf\)"),
        TestClient(app),
    ):
        pass


def test_start_up_passes_with_a_csrf_middleware() -> None:
    app = App()
    Admin(app, Database(app, "sqlite+aiosqlite://"))
    app.add_middleware(CSRFMiddleware)
    with TestClient(app) as client:
        assert client.get("/admin/static/admin.css").status_code == 200


def test_models_register_before_start_only() -> None:
    app = App()
    admin = Admin(app, Database(app, "sqlite+aiosqlite://"), csrf_required=False)
    with TestClient(app):
        with pytest.raises(RuntimeError, match="after the app has started"):
            admin.register(Writer)
        with pytest.raises(RuntimeError, match="after the app has started"):
            admin.unregister(Writer)


def test_registration_checks_the_options() -> None:
    admin = Admin(App(), Database(App(), "sqlite+aiosqlite://"), csrf_required=False)
    with pytest.raises(ValueError, match="list_display: 'nope' is not a column of Story"):
        admin.register(Story, list_display=("title", "nope"))
    with pytest.raises(ValueError, match="search_fields: 'nope'"):
        admin.register(Story, search_fields=("nope",))
    with pytest.raises(ValueError, match="ordering: '-nope'"):
        admin.register(Story, ordering=("-nope",))
    with pytest.raises(ValueError, match="'body' is required to add a row"):
        admin.register(Story, exclude=("body",))
    with pytest.raises(ValueError, match="'title' is required to add a row"):
        admin.register(Story, readonly_fields=("title",))
    with pytest.raises(ValueError, match="per_page"):
        admin.register(Story, per_page=0)
    with pytest.raises(TypeError, match="Unknown admin option"):
        admin.register(Story, list_displays=("title",))
    admin.register(Writer)
    with pytest.raises(ValueError, match="already registered"):
        admin.register(Writer, search_fields=("name",))
    admin.unregister(Writer)
    admin.register(Writer, search_fields=("name",))
    with pytest.raises(LookupError, match="Story is not registered"):
        admin.unregister(Story)
    with pytest.raises(TypeError, match="mapped model class"):
        admin.register(int)
    with pytest.raises(ValueError, match="own"):
        Admin(App(), Database(App(), "sqlite+aiosqlite://"), prefix="/")


def test_write_only_columns_are_never_listed_searched_filtered_or_sorted() -> None:
    admin = Admin(App(), Database(App(), "sqlite+aiosqlite://"), csrf_required=False)
    for option, value in [
        ("list_display", ("name", "secret")),
        ("search_fields", ("secret",)),
        ("list_filter", ("secret",)),
        ("ordering", ("-secret",)),
    ]:
        with pytest.raises(ValueError, match=f"{option}: 'secret' is write-only"):
            admin.register(Writer, **{option: value})
    # Without __str__, the default columns leave write-only ones out.
    assert tuple(ModelAdmin(Token).list_display) == ("id", "label")
    assert tuple(ModelAdmin(Writer).list_display) == ("__str__",)


def test_the_decorator_form_registers_a_model_admin_class() -> None:
    admin = Admin(App(), Database(App(), "sqlite+aiosqlite://"), csrf_required=False)

    @admin.register(Story)
    class StoryAdmin(ModelAdmin):
        list_display = ("title", "views")
        ordering = ("-views",)

    registered = admin.registry[Story]
    assert type(registered) is StoryAdmin
    assert tuple(registered.list_display) == ("title", "views")
    assert registered.label == "story"
    assert registered.label_plural == "stories"


def test_list_display_takes_str_methods_and_callables(db_url: str) -> None:
    def domain(writer: Writer) -> str:
        return (writer.email or "").partition("@")[2]

    class WriterAdmin(ModelAdmin):
        list_display = ("__str__", "shout", domain)

        def shout(self, writer: Writer) -> str:
            return writer.name.upper()

        shout.short_description = "Loud name"  # type: ignore[attr-defined]

    app, db, admin = make_app(db_url)
    admin.unregister(Writer)
    admin.register(Writer, WriterAdmin)
    with serve(app, db) as client:
        add_writer(client, "Ann", "ann@example.org")
        html = client.get("/admin/writer/").text
        headings = re.findall(r'<th scope="col"[^>]*>\s*([^<]+?)\s*</th>', html)
        assert headings == ["Writer", "Loud name", "Domain"]  # none of them sortable
        assert re.search(r">Ann</a></th><td>ANN</td><td>example.org</td>", html)


def test_readonly_fields_are_shown_not_edited(db_url: str) -> None:
    app, db, admin = make_app(db_url)
    admin.unregister(Story)
    admin.register(Story, readonly_fields=("views",))
    with serve(app, db) as client:
        writer = add_writer(client, "Ann")
        story = client.post(
            "/api/stories", json={"title": "t", "body": "b", "writer_id": writer, "views": 4}
        ).json()["id"]
        html = client.get(f"/admin/story/{story}/change/").text
        assert 'name="views"' not in html
        assert re.search(
            r'<span class="label">Views</span>\s*<div class="readonly-value">4</div>', html
        )
        form = {"title": "t", "body": "b", "mood": "calm", "writer_id": str(writer), "views": "99"}
        assert client.post(f"/admin/story/{story}/change/", data=form).status_code == 303
        assert client.get(f"/api/stories/{story}").json()["views"] == 4
