"""Foreign keys searched as you type: the endpoint the combobox asks (the related admin's
search, its view permission), the htmx it runs on, and when a form picks it."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import pytest
from admin_harness import STAFF, Story, StoryAdmin, User, Who, Writer, add_writer, make_app, serve
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

import plait.admin
from plait.admin import TabularInline
from plait.db import Model
from plait.testing import TestClient

STATIC = Path(plait.admin.__file__).parent / "static"
ROOT = Path(__file__).resolve().parents[2]


class AcShelf(Model):
    __tablename__ = "admin_ac_shelf"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


class AcBook(Model):
    """Rows of a shelf (an inline) with a foreign key searched as you type."""

    __tablename__ = "admin_ac_book"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(50))
    shelf_id: Mapped[int] = mapped_column(ForeignKey("admin_ac_shelf.id"))
    writer_id: Mapped[int] = mapped_column(ForeignKey("writer.id"))


class BookInline(TabularInline):
    model = AcBook
    autocomplete_fields = ("writer_id",)


def options(page: str) -> list[tuple[str, str]]:
    return re.findall(
        r'<li role="option" data-value="([^"]+)" aria-selected="false">([^<]*)</li>', page
    )


def test_typing_searches_the_related_admin(db_url: str) -> None:
    app, db, _ = make_app(db_url)
    with serve(app, db) as client:
        keys = {name: add_writer(client, name) for name in ("Ann", "Annika", "Bob", "<Zoë>")}
        url = "/admin/story/autocomplete/"
        found = client.get(url, params={"field": "writer_id", "term": "ann"})
        assert found.status_code == 200
        assert found.headers["cache-control"] == "no-store, private"
        assert options(found.text) == [(str(keys["Ann"]), "Ann"), (str(keys["Annika"]), "Annika")]
        everyone = options(client.get(url, params={"field": "writer_id"}).text)
        assert [label for _, label in everyone] == ["&lt;Zoë&gt;", "Ann", "Annika", "Bob"]
        nothing = client.get(url, params={"field": "writer_id", "term": "zzz"}).text
        assert options(nothing) == []
        assert "No results" in nothing
        long = client.get(url, params={"field": "writer_id", "term": "a" * 5000})
        assert long.status_code == 200


def test_only_staff_who_may_view_the_related_rows_search(tmp_path: Path) -> None:
    hidden: set[type] = set()

    def permission(request: Any, action: str, model: type) -> bool:
        return model not in hidden

    app, db, _ = make_app(f"sqlite+aiosqlite:///{tmp_path / 'ac.sqlite3'}", permission=permission)
    url = "/admin/story/autocomplete/?field=writer_id&term=a"
    with serve(app, db) as client:
        add_writer(client, "Ann")
        assert options(client.get(url).text) != []
        hidden.add(Writer)
        assert client.get(url).status_code == 403
        hidden.clear()
        for other in ("field=title", "field=nothing", "field=", "x=1"):
            assert client.get(f"/admin/story/autocomplete/?{other}").status_code == 404
        assert client.get("/admin/nothing/autocomplete/?field=writer_id").status_code == 404
        Who.user = User("joe", is_staff=False)
        assert client.get(url).status_code == 403
        Who.user = None
        assert client.get(url).status_code == 303
        Who.user = STAFF


def test_autocomplete_fields_need_a_searchable_related_admin(tmp_path: Path) -> None:
    app, db, admin = make_app(f"sqlite+aiosqlite:///{tmp_path / 'plain.sqlite3'}")
    admin.unregister(Writer)
    admin.register(Writer)  # no search_fields: nothing to search with
    with serve(app, db) as client:
        assert client.get("/admin/story/autocomplete/?field=writer_id").status_code == 404
    app, _, admin = make_app(f"sqlite+aiosqlite:///{tmp_path / 'ac.sqlite3'}")
    admin.unregister(Story)
    with pytest.raises(ValueError, match="not a foreign key"):
        admin.register(Story, StoryAdmin, autocomplete_fields=("title",))
    admin.register(Story, StoryAdmin, autocomplete_fields=("writer_id",))
    admin.unregister(Writer)
    admin.register(Writer)
    with pytest.raises(RuntimeError, match="search_fields"), TestClient(app):
        pass


def test_htmx_is_shipped_from_npm_and_checked() -> None:
    """static/htmx holds what scripts/fetch_assets.py copies from the pinned npm package."""
    spec = importlib.util.spec_from_file_location(
        "plait_fetch_assets_admin", ROOT / "scripts" / "fetch_assets.py"
    )
    assert spec is not None
    assert spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    manifest = json.loads((STATIC / "manifest.json").read_text())
    assert set(manifest) == set(script.ADMIN_PACKAGES) == {"htmx.org"}
    for package, (version, folder, files) in script.ADMIN_PACKAGES.items():
        entry = manifest[package]
        assert (entry["version"], entry["directory"]) == (version, folder)
        assert entry["integrity"].startswith("sha512-")
        assert set(entry["files"]) == set(files.values())
        for name, digest in entry["files"].items():
            data = (STATIC / folder / name).read_bytes()
            assert hashlib.sha256(data).hexdigest() == digest, f"{folder}/{name} was modified"
    entry = manifest["htmx.org"]
    app, _, _ = make_app("sqlite+aiosqlite://")
    with TestClient(app) as client:
        page = client.get("/admin/").text
        url = f"/admin/static/htmx.min.js?v={entry['version']}"
        assert f'<script src="{url}" defer></script>' in page
        script = client.get(url)
        assert script.status_code == 200
        assert script.content == (STATIC / "htmx" / "htmx.min.js").read_bytes()
        assert "immutable" in script.headers["cache-control"]
        assert "BSD" in client.get("/admin/static/htmx-LICENSE").text


def test_a_big_related_table_is_searched_and_only_its_chosen_row_read(db_url: str) -> None:
    app, db, admin = make_app(db_url)
    admin.unregister(Story)
    admin.register(Story, StoryAdmin, autocomplete_above=2)  # more than 2 writers: searched
    story = {"title": "t", "body": "b", "views": "0", "mood": "calm"}
    with serve(app, db) as client:
        ann, _ = add_writer(client, "Ann"), add_writer(client, "Bob")
        assert ">Bob</option>" in client.get("/admin/story/add/").text  # a select of them all
        add_writer(client, "Cy")
        form = client.get("/admin/story/add/").text
        control = re.search(r'<select name="writer_id"[^>]*>(.*?)</select>', form, re.S)
        assert control is not None
        assert 'data-autocomplete="story/autocomplete/?field=writer_id"' in control.group()
        assert "</option>" not in control.group(1).replace("---------</option>", "")
        for bad in ("999", "99999999999999999999", "x"):
            refused = client.post("/admin/story/add/", data={**story, "writer_id": bad})
            assert refused.status_code == 200
            assert 'id="id_writer_id_error"' in refused.text
        saved = client.post("/admin/story/add/", data={**story, "writer_id": str(ann)})
        assert saved.status_code == 303
        key = saved.headers["location"].rsplit("=", 1)[1]
        change = client.get(f"/admin/story/{key}/change/").text
        chosen = re.search(r'<select name="writer_id"[^>]*>(.*?)</select>', change, re.S)
        assert chosen is not None
        assert chosen.group(1) == f'<option value="{ann}" selected>Ann</option>'  # it alone


def test_an_inline_rows_foreign_key_is_searched_too(tmp_path: Path) -> None:
    app, db, admin = make_app(f"sqlite+aiosqlite:///{tmp_path / 'inline.sqlite3'}")
    admin.register(AcShelf, inlines=(BookInline,))
    with serve(app, db) as client:
        ann = add_writer(client, "Ann")
        page = client.get("/admin/acshelf/add/").text
        control = re.search(r'<select name="acbook-0-writer_id"[^>]*>', page)
        assert control is not None
        assert 'data-autocomplete="acbook/autocomplete/?field=writer_id"' in control.group()
        answer = client.get(
            "/admin/acbook/autocomplete/", params={"field": "writer_id", "term": "an"}
        )
        assert options(answer.text) == [(str(ann), "Ann")]
        row = {"name": "S", "acbook-TOTAL": "1", "acbook-0-id": "", "acbook-0-title": "T"}
        refused = client.post("/admin/acshelf/add/", data={**row, "acbook-0-writer_id": "999"})
        assert 'id="id_acbook-0-writer_id_error"' in refused.text
        saved = client.post("/admin/acshelf/add/", data={**row, "acbook-0-writer_id": str(ann)})
        assert saved.status_code == 303, saved.text
        shelf = saved.headers["location"].rsplit("=", 1)[1]
        change = client.get(f"/admin/acshelf/{shelf}/change/").text
        assert f'<option value="{ann}" selected>Ann</option></select>' in change
