"""plait.forms for edit pages: choices given per request, a three-way boolean, write-only
fields kept when left blank, prefixes, JSON, and which fields a submission changed."""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Annotated, Any

import pytest
from msgspec import Meta

from plait import App, HTMLResponse, Request, forms
from plait.testing import TestClient

AUTHORS = {1: "Ann", 2: "<Bob>"}


async def load_authors(context: Any) -> list[tuple[int, str]]:
    return [(key, name) for key, name in AUTHORS.items() if key in context]


class Row:
    def __init__(self, key: int) -> None:
        self.key = key


class Entry(forms.Form):
    author: Annotated[int, forms.Choices(load_authors)]
    editors: Annotated[list[int], forms.Choices(load_authors, key=lambda row: row.key)] = []
    featured: bool | None = None
    token: forms.WriteOnly
    extra: forms.JSON = None
    price: decimal.Decimal = decimal.Decimal(0)
    at: datetime.datetime | None = None
    body: forms.TextArea = ""


def test_choices_are_read_per_request_and_enforced() -> None:
    async def run() -> None:
        unbound = await Entry().load_choices({1, 2})
        html = str(unbound)
        # Nothing chosen yet: a blank first choice, so the browser does not pick Ann.
        assert '<option value="" selected>---------</option><option value="1">Ann</option>' in (
            html
        )
        assert '<option value="2">&lt;Bob&gt;</option>' in html
        only_ann = await Entry({"author": "2", "token": "t"}).load_choices({1})
        assert only_ann.errors["author"] == [
            "Select a valid choice. 2 is not one of the available choices."
        ]
        picked = await Entry({"author": "2", "editors": ["1", "2"], "token": "t"}).load_choices(
            {1, 2}
        )
        assert picked.is_valid(), picked.errors
        assert (picked.author, picked.editors) == (2, [1, 2])

    import asyncio

    asyncio.run(run())
    # set_choices gives them without a loader; with none given, every value is refused.
    assert not Entry({"author": "1", "token": "t"}).is_valid()
    form = Entry({"author": "1", "token": "t"}).set_choices("author", [(1, "Ann")])
    assert form.is_valid()
    edit = Entry(initial={"author": 2, "editors": [Row(1)]}).set_choices("author", [(2, "B")])
    edit.set_choices("editors", [(1, "Ann"), (2, "Bob")])
    html = str(edit)
    assert '<option value="2" selected>B</option>' in html
    assert '<option value="1" selected>Ann</option><option value="2">Bob</option>' in html
    with pytest.raises(KeyError):
        edit.set_choices("nope", [])


def test_a_nullable_boolean_is_a_select_of_unknown_yes_and_no() -> None:
    html = str(Entry())
    assert (
        '<select name="featured" id="id_featured"><option value="" selected>Unknown</option>'
        '<option value="true">Yes</option><option value="false">No</option></select>'
    ) in html
    assert '<option value="false" selected>No</option>' in str(Entry(initial={"featured": False}))
    for posted, value in (("true", True), ("false", False), ("", None)):
        form = Entry({"author": "1", "featured": posted, "token": "t"})
        form.set_choices("author", [(1, "Ann")])
        assert form.is_valid(), form.errors
        assert form.featured is value
    wrong = Entry({"author": "1", "featured": "maybe", "token": "t"})
    assert wrong.set_choices("author", [(1, "Ann")]).errors == {"featured": ["Enter yes or no."]}


def test_a_write_only_field_left_blank_keeps_the_stored_value() -> None:
    stored = {"author": 1, "token": "s3cret"}
    edit = Entry(initial=stored).set_choices("author", [(1, "Ann")])
    html = str(edit)
    assert "s3cret" not in html
    assert edit["token"].required is False
    assert "Leave empty to keep the current value." in html
    assert 'autocomplete="new-password"' in html
    kept = Entry({"author": "1", "token": ""}, initial=stored).set_choices("author", [(1, "A")])
    assert kept.is_valid()
    assert "token" not in kept.cleaned_data
    assert "token" not in kept.changed_data
    replaced = Entry({"author": "1", "token": "new"}, initial=stored)
    assert replaced.set_choices("author", [(1, "A")]).cleaned_data["token"] == "new"
    assert "token" in replaced.changed_data
    # A new row has nothing to keep: the field is required.
    new = Entry({"author": "1"}).set_choices("author", [(1, "A")])
    assert new.errors == {"token": ["This field is required."]}
    assert new["token"].required is True


def test_json_fields_are_textareas_of_indented_json() -> None:
    form = Entry(initial={"extra": {"a": [1, None]}})
    assert '<textarea name="extra" id="id_extra">\n{\n  &#34;a&#34;: [\n    1,' in str(form)
    bad = Entry({"author": "1", "token": "t", "extra": "{nope"}).set_choices("author", [(1, "A")])
    assert bad.errors == {"extra": ["Enter valid JSON."]}
    good = Entry({"author": "1", "token": "t", "extra": '{"b": 2}'})
    assert good.set_choices("author", [(1, "A")]).cleaned_data["extra"] == {"b": 2}


def test_changed_data_compares_with_what_the_form_showed() -> None:
    stored: dict[str, Any] = {
        "author": 1,
        "token": "x",
        "price": decimal.Decimal("12.30"),
        "at": datetime.datetime(2024, 5, 1, 10, 30, 0, 123456),
        "body": "\nstarts with a line break\r\nand mixes them\n",
        "extra": {"b": [1, 2.5], "a": "x\ny"},
        "featured": None,
    }
    shown = Entry(initial=stored)
    # What a browser sends back from the page untouched: a textarea's lines as CRLF, the
    # date-time without its microseconds, the JSON as indented.
    sent = {
        "author": "1",
        "price": "12.30",
        "at": "2024-05-01T10:30:00",
        "body": "\r\n".join(str(shown.value("body")).splitlines()) + "\r\n",
        "extra": str(shown["extra"].input).split(">\n", 1)[1].split("</textarea>")[0],
        "featured": "",
    }
    sent["extra"] = sent["extra"].replace("&#34;", '"').replace("\n", "\r\n")
    untouched = Entry(sent, initial=stored).set_choices("author", [(1, "A")])
    assert untouched.changed_data == []
    assert not untouched.has_changed()
    edited = Entry({**sent, "price": "12.3", "body": "New"}, initial=stored)
    assert edited.changed_data == ["body"]  # 12.3 is the stored 12.30
    assert Entry({**sent, "featured": "true"}, initial=stored).changed_data == ["featured"]
    assert Entry().changed_data == []  # unbound


class Comment(forms.Form):
    body: Annotated[str, Meta(max_length=5)]
    public: bool = False


def test_prefixed_forms_share_one_form_tag() -> None:
    app = App()

    @app.post("/comments")
    async def comments(request: Request) -> HTMLResponse:
        data = await request.form()
        rows = [Comment(data, prefix=f"comment-{i}") for i in range(2)]
        html = "".join(str(row) for row in rows)
        cleaned = [row.cleaned_data for row in rows if row.is_valid()]
        return HTMLResponse(f"{cleaned}{html}")

    with TestClient(app) as client:
        posted = {"comment-0-body": "hi", "comment-0-public": "on", "comment-1-body": "toolong"}
        page = client.post("/comments", data=posted).text
    assert page.startswith("[{'body': 'hi', 'public': True}]")
    assert 'name="comment-1-body" id="id_comment-1-body" required' in page
    assert 'aria-invalid="true" aria-describedby="id_comment-1-body_error"' in page
    assert '<ul class="errors" id="id_comment-1-body_error">' in page
    assert '<label for="id_comment-0-public">Public</label>' in page
    row = Comment(prefix="comment-3")["body"]
    assert (row.html_name, row.id_for_label) == ("comment-3-body", "id_comment-3-body")
    assert 'rows="2"' in str(Comment()["body"].as_widget(rows="2"))


def test_messages_for_uuids_nul_characters_and_date_times() -> None:
    class Kinds(forms.Form):
        uid: uuid.UUID | None = None
        name: Annotated[str, Meta(pattern="^[^\\x00]*$")] = ""
        at: datetime.datetime | None = None

    form = Kinds({"uid": "nope", "name": "a\x00b", "at": "tomorrow"})
    assert form.errors == {
        "uid": ["Enter a valid UUID."],
        "name": ["Null characters are not allowed."],
        "at": ["Enter a valid date/time."],
    }
