"""Forms derived from a model's schema: one model drives the table, the API and the form."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from plait import App, HTMLResponse, Request, forms
from plait.db import Database, Model, Session, get_or_404
from plait.testing import TestClient


class FormAuthor(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


class FormPost(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    published: Mapped[bool] = mapped_column(default=False)
    publish_at: Mapped[datetime.datetime | None]
    created: Mapped[datetime.datetime] = mapped_column(server_default=sa.func.now())
    views: Mapped[int] = mapped_column(server_default="0")
    author_id: Mapped[int] = mapped_column(ForeignKey("form_author.id"))


class FormAccount(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    api_token: Mapped[str] = mapped_column(String(64), info={"write_only": True})


class AccountForm(forms.Form, schema=FormAccount.Create):
    pass


class PostForm(forms.Form, schema=FormPost.Create, exclude=("author_id",)):
    body: forms.TextArea  # the schema's field, drawn as a textarea


def test_fields_come_from_the_schema_in_order() -> None:
    # The Create schema's fields: no id, no server-set `created`, `author_id` excluded.
    assert list(PostForm.fields) == ["title", "body", "published", "publish_at", "views"]
    html = str(PostForm())
    assert 'name="title" id="id_title" required maxlength="200"' in html
    assert '<textarea name="body" id="id_body" required>\n</textarea>' in html
    assert '<input type="checkbox" value="on" name="published" id="id_published">' in html
    assert '<input type="datetime-local" name="publish_at" id="id_publish_at" step="1">' in html
    # A server default: optional in the form, left to the database when blank.
    assert '<input type="number" name="views" id="id_views" min="' in html


def test_blank_optional_values_and_local_times_are_utc() -> None:
    form = PostForm({"title": "Hi", "body": "Text", "publish_at": "2026-11-26T10:30"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data == {
        "title": "Hi",
        "body": "Text",
        "published": False,
        "publish_at": datetime.datetime(2026, 11, 26, 10, 30, tzinfo=datetime.UTC),
    }
    assert PostForm({"title": "Hi", "body": "B", "views": "7"}).cleaned_data["views"] == 7
    edit = PostForm(initial=FormPost(title="T", body="B", publish_at=form.publish_at))
    assert 'value="2026-11-26T10:30:00" name="publish_at"' in str(edit)
    assert 'value="T" name="title"' in str(edit)


def test_exclude_must_name_schema_fields() -> None:
    with pytest.raises(TypeError, match=r"does not have: \['nope'\]"):

        class Bad(forms.Form, schema=FormPost.Create, exclude=("nope",)):
            pass


def test_a_model_form_creates_and_edits_rows(tmp_path: Path) -> None:
    app = App()
    Database(app, f"sqlite+aiosqlite:///{tmp_path / 'forms.sqlite3'}", auto_migrate=True)

    @app.route("/posts/new", methods=["GET", "POST"])
    async def new(request: Request, form: PostForm, session: Session) -> Any:
        if not form.is_valid():
            return HTMLResponse(str(form), status_code=422 if form.bound else 200)
        author = FormAuthor(name="ada")
        session.add(author)
        await session.flush()
        post = FormPost(form.cleaned_data, author_id=author.id)
        session.add(post)
        await session.flush()
        return {"id": post.id}

    @app.get("/posts/{post_id}/edit")
    async def edit(request: Request, post_id: int, session: Session) -> HTMLResponse:
        post = await get_or_404(session, FormPost, post_id)
        return HTMLResponse(str(PostForm(initial=post, request=request)))

    with TestClient(app) as client:
        assert "maxlength" in client.get("/posts/new").text
        too_long = client.post("/posts/new", data={"title": "x" * 201, "body": "b"})
        assert too_long.status_code == 422
        assert "at most 200 characters (it has 201)" in too_long.text
        created = client.post("/posts/new", data={"title": "<Hello>", "body": "Text"})
        post_id = created.json()["id"]
        page = client.get(f"/posts/{post_id}/edit").text
    assert 'value="0" name="views"' in page  # the server default, filled by the database
    assert 'value="&lt;Hello&gt;" name="title"' in page
    assert ">\nText</textarea>" in page


def test_write_only_columns_are_never_written_into_the_page() -> None:
    account = FormAccount(name="ada", api_token="s3cret-token")
    new = str(AccountForm())
    assert '<input type="password" name="api_token" id="id_api_token" required' in new
    assert 'autocomplete="new-password"' in new
    html = str(AccountForm(initial=account))
    assert '<input type="password" name="api_token" id="id_api_token" aria-describedby' in html
    assert "s3cret" not in html
    assert "Leave empty to keep the current value." in html
    # Left blank on the edit form: not in cleaned_data, so apply() keeps the stored token.
    kept = AccountForm({"name": "bo", "api_token": ""}, initial=account)
    assert kept.is_valid()
    assert kept.cleaned_data == {"name": "bo"}
    assert AccountForm({"name": "bo", "api_token": "new"}, initial=account).cleaned_data == {
        "name": "bo",
        "api_token": "new",
    }
    assert not AccountForm({"name": "bo", "api_token": ""}).is_valid()  # a new row needs one
    bound = AccountForm({"name": "ada", "api_token": "s3cret-token", "extra": "x"})
    assert bound.is_valid()
    assert "s3cret" not in str(bound)
    assert bound.cleaned_data == {"name": "ada", "api_token": "s3cret-token"}
    # The same mark is OpenAPI's: the schema says the field is written, never read.
    schema = msgspec.json.schema(FormAccount.Create)
    create = schema["$defs"][schema["$ref"].rsplit("/", 1)[-1]]
    assert create["properties"]["api_token"]["writeOnly"] is True
