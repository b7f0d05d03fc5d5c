"""EmailType and URLType columns: Django's EmailField/URLField in the schemas, forms,
the admin and migrations."""

from __future__ import annotations

import msgspec
import pytest
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column
from test_db_migrations import Project, project  # noqa: F401 - the fixture

from plait import App
from plait.db import Database, EmailType, Model, URLType, crud_router
from plait.testing import TestClient


class Member(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    email: Mapped[str] = mapped_column(EmailType, unique=True)
    homepage: Mapped[str | None] = mapped_column(URLType(500))


def test_the_schemas_check_and_document_the_formats() -> None:
    good = {"name": "Ada", "email": "ada@example.com", "homepage": "https://ada.dev/"}
    assert msgspec.convert(good, Member.Create).email == "ada@example.com"
    for field, value in [("email", "ada"), ("homepage", "javascript:alert(1)")]:
        with pytest.raises(msgspec.ValidationError, match=field):
            msgspec.convert({**good, field: value}, Member.Create)
    with pytest.raises(msgspec.ValidationError, match="length <= 500"):
        msgspec.convert({**good, "homepage": "https://ada.dev/" + "x" * 500}, Member.Create)
    (_, components) = msgspec.json.schema_components([Member.Create, Member.Read])
    for name in ("MemberCreate", "MemberRead"):
        properties = components[name]["properties"]
        assert properties["email"]["format"] == "email"
        assert properties["email"]["maxLength"] == 254
        homepage = properties["homepage"]["anyOf"][0]
        assert (homepage["format"], homepage["maxLength"]) == ("uri", 500)


def test_the_api_refuses_bad_addresses_with_a_422(db_url: str) -> None:
    app = App()
    Database(app, db_url, auto_migrate=True, migrations="no-migrations")
    app.include_router(crud_router(Member, prefix="/members"))
    with TestClient(app) as client:
        bad = client.post("/members", json={"name": "Ada", "email": "nope"})
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["loc"] == ["body", "email"]
        made = client.post("/members", json={"name": "Ada", "email": "ada@example.com"})
        assert made.status_code == 201, made.text
        document = client.get("/openapi.json").json()
    schema = document["components"]["schemas"]["MemberCreate"]
    assert schema["properties"]["email"]["format"] == "email"


def test_a_form_from_the_model_draws_email_and_url_inputs() -> None:
    from plait import forms

    class MemberForm(forms.Form, schema=Member.Create):
        pass

    html = str(MemberForm())
    assert '<input type="email" name="email" id="id_email" required maxlength="254">' in html
    assert '<input type="url" name="homepage" id="id_homepage" maxlength="500">' in html
    form = MemberForm({"name": "Ada", "email": "ada", "homepage": "not a url"})
    assert form.errors == {
        "email": ["Enter a valid email address."],
        "homepage": ["Enter a valid URL."],
    }
    fixed = MemberForm({"name": "Ada", "email": "ada@example.com", "homepage": "ada.dev"})
    assert fixed.is_valid(), fixed.errors
    assert fixed.cleaned_data["homepage"] == "https://ada.dev"


MODELS = """
from plait.db import EmailType, URLType


class Member(Base):
    __tablename__ = "member"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(EmailType)
    homepage: Mapped[str | None] = mapped_column(URLType(500))
"""


def test_migrations_hold_plain_string_columns(project: Project) -> None:  # noqa: F811
    project.write(MODELS)
    project.run("makemigrations", "-m", "members")
    (migration,) = project.versions()
    source = migration.read_text()
    assert "sa.String(length=254)" in source
    assert "sa.String(length=500)" in source
    assert "plait" not in source.split('"""', 2)[2]  # nothing of plait's own modules
    project.run("migrate")
    assert project.columns("member") == {"id", "email", "homepage"}
    assert "No changes detected" in project.run("makemigrations", "-m", "again").output
