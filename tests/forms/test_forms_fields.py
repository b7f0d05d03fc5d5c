"""plait.forms: optional widgets in every spelling, clean() as Django runs it, URL and e-mail."""

from __future__ import annotations

from typing import Annotated, ClassVar, Optional, Union

import pytest
from msgspec import Meta
from sqlalchemy import Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from plait import forms
from plait.db import Model, Relation, SchemaOptions

# Every way the docs (and typing) spell an optional field with a widget.
OPTIONAL_SPELLINGS = {
    "X | None": forms.TextArea | None,
    "Optional[X]": Optional[forms.TextArea],  # noqa: UP045
    "Union[X, None]": Union[forms.TextArea, None],  # noqa: UP007
    "Annotated[X, Meta] | None": Annotated[forms.TextArea, Meta(max_length=5)] | None,
    "Annotated[X | None, Meta]": Annotated[forms.TextArea | None, Meta(max_length=5)],
    "Widget with attrs | None": Annotated[str, forms.Widget("textarea", rows="3")] | None,
}


@pytest.mark.parametrize("annotation", OPTIONAL_SPELLINGS.values(), ids=list(OPTIONAL_SPELLINGS))
def test_optional_widgets_in_every_spelling(annotation: object) -> None:
    form_class = type("Notes", (forms.Form,), {"__annotations__": {"notes": annotation}})
    blank = form_class({"notes": ""})
    assert blank.is_valid(), blank.errors
    assert blank.cleaned_data == {"notes": None}
    filled = form_class({"notes": " hi "})
    assert filled.is_valid()
    assert filled.cleaned_data == {"notes": "hi"}
    html = str(form_class())
    assert '<textarea name="notes" id="id_notes"' in html
    assert "required" not in html


class OptionalFields(forms.Form):
    notes: forms.TextArea | None = None
    email: forms.Email | None = None
    website: forms.URL | None = None
    secret: forms.Password | None = None
    token: forms.Hidden | None = None


def test_optional_widgets_declared_with_a_default() -> None:
    assert {name: spec.widget for name, spec in OptionalFields.fields.items()} == {
        "notes": "textarea",
        "email": "email",
        "website": "url",
        "secret": "password",
        "token": "hidden",
    }
    assert OptionalFields({}).is_valid()
    assert forms.Widget("url", placeholder="x") == forms.Widget("url", placeholder="x")
    assert hash(forms.Widget("url", placeholder="x")) == hash(forms.Widget("url", placeholder="x"))


class Passwords(forms.Form):
    password1: Annotated[forms.Password, Meta(min_length=8)]
    password2: forms.Password
    seen: ClassVar[list[str]] = []

    def clean(self) -> None:
        self.seen.append("clean")
        first = self.cleaned_data.get("password1")
        if first is not None and first != self.cleaned_data.get("password2"):
            self.add_error("password2", "The two password fields didn't match.")
        if self.cleaned_data.get("password2") == "forbidden":
            self.add_error(None, "That password is not allowed.")


def test_clean_runs_even_when_a_field_failed() -> None:
    Passwords.seen = []
    form = Passwords({"password1": "short", "password2": "forbidden"})
    assert not form.is_valid()
    assert Passwords.seen == ["clean"]  # run once, although password1 failed (as Django)
    assert form.errors == {
        "password1": ["Ensure this value has at least 8 characters (it has 5)."],
        forms.NON_FIELD: ["That password is not allowed."],
    }
    assert form.cleaned_data == {"password2": "forbidden"}  # the fields that passed


def test_clean_runs_when_every_field_passed() -> None:
    form = Passwords({"password1": "long enough", "password2": "different"})
    assert not form.is_valid()
    assert form.errors == {"password2": ["The two password fields didn't match."]}
    assert form.cleaned_data == {"password1": "long enough"}  # add_error drops the field
    good = Passwords({"password1": "long enough", "password2": "long enough"})
    assert good.is_valid()
    assert good.password1 == "long enough"


class Contact(forms.Form):
    email: forms.Email
    website: forms.URL
    blog: Annotated[forms.URL, Meta(max_length=30)] | None = None


@pytest.mark.parametrize(
    "value",
    [
        "https://example.com",
        "http://example.com/a/b?c=d#e",
        "HTTPS://Example.COM:8443/path",
        "ftp://files.example.org/x.txt",
        "http://localhost:8000/",
        "http://127.0.0.1/",
        "http://[::1]:8000/",
        "https://user:pass@example.com/",
        "https://bücher.example/",
    ],
)
def test_valid_urls(value: str) -> None:
    form = Contact({"email": "ada@example.com", "website": value})
    assert form.is_valid(), form.errors
    assert form.website == value


@pytest.mark.parametrize(
    "value",
    [
        "not a url",
        "https://",
        "https://exa mple.com",
        "javascript:alert(1)",
        "mailto:ada@example.com",
        "https://example",
        "https://.com",
        "https://example.com/\x00",
    ],
)
def test_invalid_urls_have_djangos_message(value: str) -> None:
    form = Contact({"email": "ada@example.com", "website": value})
    assert not form.is_valid()
    assert form.errors == {"website": ["Enter a valid URL."]}


def test_a_url_without_scheme_gets_https_as_djangos_assume_scheme() -> None:
    form = Contact({"email": "ada@example.com", "website": "example.com/page"})
    assert form.is_valid(), form.errors
    assert form.website == "https://example.com/page"
    no_scheme = Contact({"email": "a@b.co", "website": "//example.com"})
    assert no_scheme.cleaned_data["website"] == "https://example.com"


@pytest.mark.parametrize("value", ["nope", "a@b", "a b@example.com", "@example.com", "a@@b.com"])
def test_invalid_emails_have_djangos_message(value: str) -> None:
    form = Contact({"email": value, "website": "https://example.com"})
    assert not form.is_valid()
    assert form.errors == {"email": ["Enter a valid email address."]}


def test_url_and_email_inputs_and_lengths() -> None:
    html = str(Contact())
    assert '<input type="email" name="email" id="id_email" required maxlength="254">' in html
    assert '<input type="url" name="website" id="id_website" required maxlength="200">' in html
    assert '<input type="url" name="blog" id="id_blog" maxlength="30">' in html
    blog = "https://e.com/" + "x" * 20
    long = Contact({"email": "a@b.co", "website": "https://e.com", "blog": blog})
    assert long.errors == {"blog": ["Ensure this value has at most 30 characters (it has 34)."]}


# A to-many relation written as text: the keys comma-separated (django-taggit's TagField).
tagged_topic = Table(
    "tagged_topic",
    Model.metadata,
    Column("tagged_id", ForeignKey("tagged.id"), primary_key=True),
    Column("topic_id", ForeignKey("topic_label.id"), primary_key=True),
)


class TopicLabel(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20), unique=True)


class Tagged(Model):
    __schema_options__ = SchemaOptions(
        relations={"topics": Relation(key="name", create_missing=True)}
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(50))
    topics: Mapped[list[TopicLabel]] = relationship(secondary=tagged_topic)


class TaggedForm(forms.Form, schema=Tagged.Create, widgets={"topics": "text"}):
    pass


def test_a_relation_typed_as_comma_separated_text() -> None:
    form = TaggedForm({"title": "Hi", "topics": " python, web,, db "})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["topics"] == ["python", "web", "db"]
    assert '<input type="text" name="topics" id="id_topics">' in str(TaggedForm())
    row = Tagged(title="Hi")
    row.topics = [TopicLabel(name="python"), TopicLabel(name="web")]
    edit = str(TaggedForm(initial=row))
    assert '<input type="text" value="python, web" name="topics" id="id_topics">' in edit
    again = TaggedForm({"title": "Hi", "topics": "a" * 21})
    assert not again.is_valid()
    assert '<input type="text" value="' + "a" * 21 + '"' in str(again)
