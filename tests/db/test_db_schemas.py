"""Schemas derived from models: types, bounds, read-only and write-only fields, PATCH."""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from db_harness import Article, Author, Status
from sqlalchemy import ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from plait.db import Model, Relation, SchemaOptions, apply, load_options, model_schema, values

UTC = datetime.UTC


class Gadget(Model):
    code: Mapped[str] = mapped_column(String(8), primary_key=True)  # a natural key: writable
    small: Mapped[int] = mapped_column(sa.SmallInteger)
    big: Mapped[int] = mapped_column(sa.BigInteger)
    price: Mapped[decimal.Decimal] = mapped_column(sa.Numeric(10, 2))
    ratio: Mapped[float]
    ref: Mapped[uuid.UUID] = mapped_column(default=uuid.uuid4)
    day: Mapped[datetime.date | None]
    seen_at: Mapped[datetime.datetime | None]
    aware_at: Mapped[datetime.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    stamp: Mapped[datetime.datetime] = mapped_column(server_default=func.now())
    blob: Mapped[bytes | None]
    secret: Mapped[str | None] = mapped_column(info={"exclude": True})
    counted: Mapped[int] = mapped_column(info={"read_only": True}, default=0)


class Parent(Model):
    __schema_options__ = SchemaOptions(depth=1)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20))
    children: Mapped[list[Child]] = relationship(back_populates="parent")


class Child(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("parent.id"))
    parent: Mapped[Parent] = relationship(back_populates="children")


def schema_of(struct: Any) -> dict[str, Any]:
    name = struct.__name__
    document = msgspec.json.schema(struct)
    result: dict[str, Any] = document["$defs"][name]
    return result


def fields(struct: Any) -> set[str]:
    return set(struct.__struct_fields__)


def decode(struct: Any, body: dict[str, Any]) -> Any:
    return msgspec.json.decode(msgspec.json.encode(body), type=struct)


def test_names_and_caching() -> None:
    assert Article.Read.__name__ == "ArticleRead"
    assert Article.Create.__name__ == "ArticleCreate"
    assert Article.Update.__name__ == "ArticleUpdate"
    assert Article.Read is Article.Read
    assert model_schema(Article, "read") is Article.Read
    assert model_schema(Parent, "read").__name__ == "ParentReadDepth1"
    assert model_schema(Article, "read", exclude=["body"]).__name__ == "ArticleReadWithoutBody"
    assert model_schema(Article, "read", name="Summary").__name__ == "Summary"


def test_read_has_every_readable_column() -> None:
    assert fields(Article.Read) == {
        "id",
        "title",
        "body",
        "views",
        "rating",
        "published",
        "status",
        "tags",
        "created_at",
        "updated_at",
        "author_id",
    }
    # internal_note is excluded (SchemaOptions); the author's password is write-only.
    assert "password" not in fields(Author.Read)
    assert "secret" not in fields(model_schema(Gadget, "read"))


def test_create_leaves_out_what_the_database_fills() -> None:
    # id (autoincrement), created_at (server default), updated_at (onupdate) are read-only.
    assert fields(Article.Create) == {
        "title",
        "body",
        "views",
        "rating",
        "published",
        "status",
        "tags",
        "author_id",
    }
    assert schema_of(Article.Create)["required"] == ["title", "body"]
    assert "password" in fields(Author.Create)
    create = model_schema(Gadget, "create")
    assert "code" in fields(create)  # a natural primary key must be given
    assert "stamp" not in fields(create)
    assert "counted" not in fields(create)  # read_only via info
    assert "ref" in fields(create)


def test_update_is_partial_and_knows_null_from_absent() -> None:
    update = Article.Update
    assert schema_of(update)["required"] == []
    assert "id" not in fields(update)
    patch = decode(update, {"rating": None})
    assert values(patch) == {"rating": None}
    assert values(decode(update, {})) == {}
    with pytest.raises(msgspec.ValidationError, match="Expected `str`, got `null`"):
        decode(update, {"title": None})  # NOT NULL
    with pytest.raises(msgspec.ValidationError, match="Expected `array`, got `null`"):
        decode(update, {"tags": None})  # NOT NULL JSON: the bug FastAPI + SQLModel had
    assert "code" not in fields(model_schema(Gadget, "update"))  # primary keys never change


def test_bounds_come_from_column_types() -> None:
    props = schema_of(model_schema(Gadget, "create"))["properties"]
    assert props["small"] == {"type": "integer", "minimum": -(2**15), "maximum": 2**15 - 1}
    assert props["big"] == {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1}
    assert props["code"]["maxLength"] == 8
    article = schema_of(Article.Create)["properties"]
    assert article["views"]["minimum"] == 0  # CHECK (views >= 0)
    assert article["views"]["maximum"] == 2**31 - 1
    assert article["title"]["maxLength"] == 200
    assert article["body"]["description"] == "The article's text, in Markdown."
    assert article["status"]["$ref"].endswith("/Status")
    no_nul = {"type": "string", "pattern": "^[^\\x00]*$"}
    assert article["tags"] == {"type": "array", "items": no_nul}
    with pytest.raises(msgspec.ValidationError, match="<= 2147483647"):
        decode(Article.Create, {"title": "t", "body": "b", "views": 2**31})
    with pytest.raises(msgspec.ValidationError, match="length <= 200"):
        decode(Article.Create, {"title": "x" * 201, "body": "b"})
    with pytest.raises(msgspec.ValidationError, match="regex"):
        decode(Article.Create, {"title": "nul\x00", "body": "b"})
    with pytest.raises(msgspec.ValidationError, match="regex"):
        decode(Article.Create, {"title": "t", "body": "b", "tags": ["\x00"]})
    with pytest.raises(msgspec.ValidationError, match="unknown field `titel`"):
        decode(Article.Create, {"titel": "t", "body": "b"})


class Bounded(Model):
    __table_args__ = (
        sa.CheckConstraint("score > 0 AND score <= 10", name="score_range"),
        sa.CheckConstraint("ratio < 1.5", name="ratio_max"),
        sa.CheckConstraint("length(code) > 2", name="code_length"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    score: Mapped[int]
    ratio: Mapped[float]
    code: Mapped[str]


def test_simple_check_constraints_become_bounds() -> None:
    props = schema_of(model_schema(Bounded, "create"))["properties"]
    assert props["score"] == {"type": "integer", "minimum": 1, "maximum": 10}
    assert props["ratio"] == {"type": "number", "exclusiveMaximum": 1.5}
    assert props["code"] == {
        "type": "string",
        "minLength": 3,  # length(code) > 2
        "pattern": "^[^\\x00]*$",
    }


def test_defaults_and_nullability_on_create() -> None:
    data = decode(Article.Create, {"title": "t", "body": "b"})
    assert data.views == 0
    assert data.published is False
    assert data.status is Status.DRAFT
    assert data.rating is None
    assert data.tags is msgspec.UNSET  # a callable default: the model fills it


def test_types_of_other_columns() -> None:
    gadget = decode(
        model_schema(Gadget, "create"),
        {
            "code": "g1",
            "small": 1,
            "big": 2**40,
            "price": "12.50",
            "ratio": 0.5,
            "ref": "12345678-1234-5678-1234-567812345678",
            "day": "2024-02-29",
            "blob": "aGk=",
        },
    )
    assert gadget.price == decimal.Decimal("12.50")
    assert gadget.ref == uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert gadget.day == datetime.date(2024, 2, 29)
    assert gadget.blob == b"hi"


def test_datetimes_are_stored_the_way_each_column_keeps_them() -> None:
    create = model_schema(Gadget, "create")
    base = {"code": "g", "small": 1, "big": 1, "price": "1", "ratio": 1.0}
    data = decode(
        create,
        {**base, "seen_at": "2024-01-01T12:00:00+02:00", "aware_at": "2024-01-01T12:00:00+02:00"},
    )
    # Mapped[datetime] (UTCDateTime) and DateTime(timezone=True) keep aware values (the
    # former is stored as UTC); a column declared as plain DateTime() gets naive UTC.
    assert data.seen_at == datetime.datetime(2024, 1, 1, 10, 0, tzinfo=UTC)
    assert data.aware_at.utcoffset() == datetime.timedelta(hours=2)
    with pytest.raises(msgspec.ValidationError, match="timezone"):
        decode(create, {**base, "seen_at": "2024-01-01T12:00:00"})
    assert schema_of(create)["properties"]["seen_at"]["anyOf"][0]["format"] == "date-time"
    # Output marks naive values as UTC, so every date-time sent carries an offset.
    read = model_schema(Gadget, "read")
    row = type("Row", (), {})()
    for name in read.__struct_fields__:
        setattr(row, name, None)
    given = {"code": "g", "small": 1, "big": 1, "price": decimal.Decimal(1), "ratio": 1.0}
    for name, value in given.items():
        setattr(row, name, value)
    row.ref, row.counted = uuid.uuid4(), 0
    row.stamp = datetime.datetime(2024, 1, 1, 10, 0)
    out: Any = msgspec.convert(row, read, from_attributes=True)
    assert out.stamp == datetime.datetime(2024, 1, 1, 10, 0, tzinfo=UTC)
    assert b'"stamp":"2024-01-01T10:00:00Z"' in msgspec.json.encode(out)


def test_relationships_nest_to_the_chosen_depth() -> None:
    parent_read = Parent.Read
    assert "children" in fields(parent_read)
    child_read = model_schema(Child, "read")
    assert "parent" not in fields(child_read)
    deeper = model_schema(Child, "read", depth=2)
    props = schema_of(deeper)["properties"]
    assert props["parent"]["anyOf"][0]["$ref"].endswith("/ParentReadDepth1")
    assert "children" in fields(model_schema(Parent, "read", depth=1))
    assert len(load_options(Child, 2)) == 1
    assert load_options(Child, 0) == []
    assert load_options(Parent) != []


def test_apply_sets_only_given_fields() -> None:
    article = Article(title="t", body="b", rating=3)
    apply(article, decode(Article.Update, {"title": "new", "rating": None}))
    assert (article.title, article.body, article.rating) == ("new", "b", None)
    apply(article, {"body": "x", "rating": msgspec.UNSET})
    assert (article.body, article.rating) == ("x", None)


class CamelLabel(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(20), unique=True)


class CamelBook(Model):
    __schema_options__ = SchemaOptions(
        rename="camel", relations={"shelf_list": Relation(key="label", create_missing=True)}
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    book_title: Mapped[str] = mapped_column(String(50))
    added_at: Mapped[datetime.datetime] = mapped_column(server_default=func.now())
    shelf_list: Mapped[list[CamelLabel]] = relationship(secondary="camel_book_label")


sa.Table(
    "camel_book_label",
    Model.metadata,
    sa.Column("camel_book_id", ForeignKey("camel_book.id"), primary_key=True),
    sa.Column("camel_label_id", ForeignKey("camel_label.id"), primary_key=True),
)


class RenamedPerson(Model):
    __schema_options__ = SchemaOptions(rename={"full_name": "name"})
    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(String(20))


def test_schemas_name_their_fields_in_camel_case_when_the_model_asks() -> None:
    """``SchemaOptions(rename="camel")``: JSON APIs such as RealWorld's (``tagList``,
    ``createdAt``), with the Python attributes left as they are."""
    created = msgspec.convert({"bookTitle": "Dune", "shelfList": ["sf"]}, CamelBook.Create)
    assert (created.book_title, created.shelf_list) == ("Dune", ["sf"])
    with pytest.raises(msgspec.ValidationError, match=r"\$\.bookTitle"):
        msgspec.convert({"bookTitle": "x" * 51}, CamelBook.Create)
    with pytest.raises(msgspec.ValidationError, match="book_title"):
        msgspec.convert({"book_title": "Dune"}, CamelBook.Create)  # unknown field
    assert set(schema_of(CamelBook.Read)["properties"]) == {
        "id",
        "bookTitle",
        "addedAt",
        "shelfList",
    }
    assert set(schema_of(CamelBook.Update)["properties"]) == {"bookTitle", "shelfList"}
    book = CamelBook(created)
    assert book.book_title == "Dune"
    assert msgspec.convert({"name": "Ada"}, RenamedPerson.Create).full_name == "Ada"
    assert set(schema_of(RenamedPerson.Read)["properties"]) == {"id", "name"}
