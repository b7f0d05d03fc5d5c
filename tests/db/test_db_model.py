"""plait.db.Model: table names, naming conventions, building instances from schemas."""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path

import pytest
import sqlalchemy as sa
from db_harness import Article, Author
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from plait.db import NAMING_CONVENTION, Model
from plait.db._model import table_name


class BlogPost(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(50), unique=True, index=True)


class HTTPLogEntry(Model):
    __tablename__ = "http_log"
    id: Mapped[int] = mapped_column(primary_key=True)


class Animal(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    __mapper_args__ = {"polymorphic_on": "kind", "polymorphic_identity": "animal"}


class Dog(Animal):
    __mapper_args__ = {"polymorphic_identity": "dog"}


@pytest.mark.parametrize(
    ("name", "table"),
    [("Article", "article"), ("BlogPost", "blog_post"), ("HTTPLogEntry", "http_log_entry")],
)
def test_table_names_come_from_class_names(name: str, table: str) -> None:
    assert table_name(name) == table


def test_models_get_table_names_unless_they_set_one() -> None:
    assert sa.inspect(BlogPost).persist_selectable.description == "blog_post"
    assert sa.inspect(HTTPLogEntry).persist_selectable.description == "http_log"


def test_subclasses_share_the_parent_table() -> None:
    assert Dog.__table__ is Animal.__table__


def test_constraints_and_indexes_are_named_by_convention() -> None:
    assert Model.metadata.naming_convention == NAMING_CONVENTION
    table = Article.__table__
    assert isinstance(table, sa.Table)
    names = {constraint.name for constraint in table.constraints}
    assert {
        "pk_article",
        "uq_article_title",
        "ck_article_views_not_negative",
        "fk_article_author_id_author",
    } <= names
    assert {index.name for index in table.indexes} == {"ix_article_author_id"}
    blog = BlogPost.__table__
    assert isinstance(blog, sa.Table)
    assert {index.name for index in blog.indexes} == {"ix_blog_post_slug"}


def test_instances_from_a_create_struct() -> None:
    data = Article.Create(title="Hello", body="World")
    article = Article(data)
    assert article.title == "Hello"
    assert article.body == "World"
    assert article.views == 0  # the scalar default travels in the struct
    # Fields left UNSET (defaults the database or a callable fills) are not set at all.
    assert "tags" not in article.__dict__


def test_instances_from_a_mapping_and_keywords() -> None:
    author = Author({"name": "ann", "password": "x"}, email="ann@example.com")
    assert (author.name, author.password, author.email) == ("ann", "x", "ann@example.com")
    assert Author(name="bob").name == "bob"
    override = Article(Article.Create(title="a", body="b"), title="c")
    assert override.title == "c"


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(TypeError, match="'nope' is an invalid keyword argument for Author"):
        Author(nope=1)


def test_the_base_has_no_schemas() -> None:
    with pytest.raises(TypeError, match="only mapped models have schemas"):
        Model.Read  # noqa: B018


def test_importing_a_models_module_again_replaces_its_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "reloaded_models.py"
    source.write_text(
        "from sqlalchemy.orm import Mapped, mapped_column\n"
        "from plait.db import Model\n"
        "class Reloaded(Model):\n"
        "    id: Mapped[int] = mapped_column(primary_key=True)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    first = importlib.import_module("reloaded_models")
    del sys.modules["reloaded_models"]
    second = importlib.import_module("reloaded_models")
    assert first.Reloaded is not second.Reloaded
    assert Model.metadata.tables["reloaded"] is sa.inspect(second.Reloaded).local_table
    del sys.modules["reloaded_models"]


def test_a_real_name_clash_is_still_an_error() -> None:
    with pytest.raises(sa.exc.InvalidRequestError, match="already defined"):

        class Article(Model):  # same table as db_harness.Article, another definition
            id: Mapped[int] = mapped_column(primary_key=True)


_TWIN = """
from __future__ import annotations

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column, relationship

from plait.db import Model


class TwinWriter{n}(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    articles: Mapped[list[Article]] = relationship(back_populates="writer")


class Article(Model):
    __tablename__ = "twin_article_{n}"
    id: Mapped[int] = mapped_column(primary_key=True)
    writer_id: Mapped[int] = mapped_column(ForeignKey("twin_writer{n}.id"))
    writer: Mapped[TwinWriter{n}] = relationship(back_populates="articles")
"""


def test_a_class_named_by_a_string_is_the_one_of_the_models_module(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two apps (or an app and a test) with an ``Article`` each: a relationship naming
    "Article" as a string means its own module's, not an ambiguous registry entry."""
    modules = []
    for n in (1, 2):
        module = types.ModuleType(f"plait_twin_models_{n}")
        monkeypatch.setitem(sys.modules, module.__name__, module)
        exec(compile(_TWIN.format(n=n), f"<twin {n}>", "exec"), module.__dict__)
        modules.append(module)
    sa.orm.configure_mappers()
    for n, module in enumerate(modules, start=1):
        writer = getattr(module, f"TwinWriter{n}")
        assert writer.articles.property.mapper.class_ is module.Article
        assert module.Article.writer.property.mapper.class_ is writer
