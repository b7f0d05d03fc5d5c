"""msgspec Structs derived from a model's columns: what the API reads, creates and updates.

The column types decide the field types *and* their bounds, so the straightforward handler is
the correct one: ``String(200)`` is a string of at most 200 characters, ``Integer`` a 32-bit
integer (so neither SQLite nor PostgreSQL overflows), ``NOT NULL`` refuses ``null``, and no
string may hold the NUL character PostgreSQL rejects. Each schema is built once, on first use.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import inspect
import sys
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import msgspec
import sqlalchemy as sa
from msgspec import UNSET, UnsetType
from sqlalchemy.orm import Mapped, Mapper, configure_mappers
from sqlalchemy.orm.strategy_options import _AbstractLoad

from plait.db._columntypes import FormattedString
from plait.db._constraints import Refinable, check_bounds, numeric, string_meta
from plait.db._datetime import storage_type
from plait.db._relations import (
    Relation,
    declared_relations,
    eager_loader,
    relation_fields,
    relation_load_options,
    set_relations,
)

__all__ = [
    "Kind",
    "SchemaOptions",
    "apply",
    "load_options",
    "model_schema",
    "options_of",
    "schema_field_type",
    "values",
]

Kind = Literal["read", "create", "update"]

_INT_RANGES: list[tuple[type[sa.types.TypeEngine[Any]], int]] = [
    (sa.SmallInteger, 15),
    (sa.BigInteger, 63),
    (sa.Integer, 31),
]
_NO_NUL = "^[^\\x00]*$"
"""PostgreSQL text cannot hold NUL characters; refuse them everywhere so both databases agree."""
_REAL_MAX = 3.4e38
_UTC = datetime.UTC
_DATETIME_IN = Annotated[datetime.datetime, msgspec.Meta(tz=True)]
_DATETIME_OUT = Annotated[
    datetime.datetime, msgspec.Meta(extra_json_schema={"format": "date-time"})
]


@dataclasses.dataclass(frozen=True)
class SchemaOptions:
    """How a model's schemas are derived; set it as ``__schema_options__`` on the model::

        class User(Model):
            __schema_options__ = SchemaOptions(write_only=("password_hash",), depth=1)

    Fields can also be marked on the column: ``mapped_column(info={"write_only": True})``
    (``read_only``, ``write_only`` and ``exclude`` are understood).
    """

    exclude: tuple[str, ...] = ()
    """Attributes in no schema at all."""
    read_only: tuple[str, ...] = ()
    """Attributes only in Read (primary keys and database-filled timestamps already are)."""
    write_only: tuple[str, ...] = ()
    """Attributes in Create and Update but never in Read (passwords)."""
    depth: int = 0
    """How many levels of relationships ``Read`` nests (0: none)."""
    relations: Mapping[str, Relation] = dataclasses.field(default_factory=dict)
    """Relationships in the schemas, and how (:class:`Relation`): nested objects or keys in
    ``Read``, keys in ``Create`` and ``Update``."""
    rename: Literal["camel"] | Mapping[str, str] | None = None
    """The fields' names in JSON: ``"camel"`` (``created_at`` is ``createdAt``), or a mapping
    of attribute to name; attributes are left as they are by default."""


_NO_OPTIONS = SchemaOptions()


@dataclasses.dataclass(frozen=True)
class _Column:
    key: str
    column: sa.Column[Any]
    read_only: bool
    write_only: bool


_CACHE: dict[tuple[Any, ...], type[msgspec.Struct]] = {}


def options_of(model: type) -> SchemaOptions:
    options = getattr(model, "__schema_options__", None)
    return options if isinstance(options, SchemaOptions) else _NO_OPTIONS


def _flag(column: sa.Column[Any], name: str, listed: Iterable[str], key: str) -> bool | None:
    value = column.info.get(name)
    if value is not None:
        return bool(value)
    return True if key in listed else None


def _database_filled(column: sa.Column[Any]) -> bool:
    """Primary keys the database assigns, timestamps it fills, computed columns."""
    has_default = column.default is not None or column.server_default is not None
    if column.primary_key:
        return has_default or column is column.table.autoincrement_column
    if column.onupdate is not None or column.server_onupdate is not None:
        return True
    if column.computed is not None or column.identity is not None:
        return True
    return has_default and isinstance(storage_type(column.type), sa.DateTime | sa.Date | sa.Time)


def _columns(model: type) -> list[_Column]:
    mapper: Mapper[Any] = sa.inspect(model)
    options = options_of(model)
    found = []
    for prop in mapper.column_attrs:
        if len(prop.columns) != 1 or not isinstance(prop.columns[0], sa.Column):
            continue
        column = prop.columns[0]
        key = prop.key
        if _flag(column, "exclude", options.exclude, key):
            continue
        read_only = _flag(column, "read_only", options.read_only, key)
        write_only = bool(_flag(column, "write_only", options.write_only, key))
        if read_only is None:
            read_only = _database_filled(column)
        found.append(_Column(key, column, read_only, write_only))
    return found


def _int_bounds(type_: sa.types.TypeEngine[Any]) -> tuple[int, int] | None:
    for cls, bits in _INT_RANGES:
        if isinstance(type_, cls):
            return -(2**bits), 2**bits - 1
    return None


def _declared_type(model: type, key: str) -> Any:
    """``X`` of the ``Mapped[X]`` annotation declaring ``key`` (``None`` removed), or Any."""
    for cls in model.__mro__:
        annotation = inspect.get_annotations(cls).get(key)
        if annotation is None:
            continue
        if isinstance(annotation, str):
            namespace = dict(vars(sys.modules[cls.__module__]))
            namespace.setdefault("Mapped", Mapped)
            try:
                annotation = eval(annotation, namespace)
            except Exception:
                return Any
        args = [a for a in get_args(annotation) if a is not type(None)]
        origin: Any = get_origin(annotation)
        if origin is Mapped and args:
            inner = args[0]
            union = [a for a in get_args(inner) if a is not type(None)]
            if get_origin(inner) in (Union, types.UnionType) and len(union) == 1:
                inner = union[0]
            return Any if inner is object else inner
        return Any
    return Any


def _no_nul(tp: Any) -> Any:
    """``tp`` with every ``str`` inside it (list items, dict keys…) refusing NUL."""
    if tp is str:
        return Annotated[str, msgspec.Meta(pattern=_NO_NUL)]
    origin = get_origin(tp)
    if origin in (list, set, frozenset, tuple, dict):
        return origin[tuple(_no_nul(a) if a is not Ellipsis else a for a in get_args(tp))]
    if origin in (Union, types.UnionType):
        return Union[tuple(_no_nul(a) for a in get_args(tp))]  # noqa: UP007
    return tp


def _python_type(type_: sa.types.TypeEngine[Any], declared: Any = Any) -> Any:
    if isinstance(type_, sa.Enum):
        if type_.enum_class is not None:
            return type_.enum_class
        return Literal[tuple(type_.enums)] if type_.enums else str
    if isinstance(type_, sa.JSON):
        # JSON holds whatever the annotation says (``Mapped[list[str]]``); strings in it
        # refuse NUL too (PostgreSQL's jsonb can't store ``\u0000``).
        return _no_nul(declared)
    if isinstance(type_, sa.ARRAY):
        return list[schema_field_type(type_.item_type)]  # type: ignore[misc]
    if isinstance(type_, sa.Numeric) and not isinstance(type_, sa.Float):
        return decimal.Decimal if type_.asdecimal else float
    try:
        return type_.python_type
    except NotImplementedError:
        return Any


def schema_field_type(
    type_: sa.types.TypeEngine[Any],
    kind: Kind = "create",
    declared: Any = Any,
    checks: dict[str, Any] | None = None,
) -> Any:
    """The msgspec type (with bounds) of a column type's values, as input or as output.

    ``declared`` is the attribute's ``Mapped[...]`` type, used where the column type says
    little (JSON); ``checks`` are bounds from CHECK constraints (:func:`check_bounds`).
    """
    if isinstance(type_, FormattedString):
        return Annotated[str, type_.schema_meta()]  # EmailType, URLType
    type_ = storage_type(type_)
    python_type = _python_type(type_, declared)
    if python_type is datetime.datetime:
        # Input must carry an offset; output always does (see _datetime_fixer).
        return _DATETIME_OUT if kind == "read" else _DATETIME_IN
    if python_type is str:
        return Annotated[str, string_meta(getattr(type_, "length", None), checks or {}, _NO_NUL)]
    if python_type is int:
        lower, upper = _int_bounds(type_) or (None, None)
        return numeric(int, lower, upper, checks or {})
    if python_type is float:
        limit = _REAL_MAX if _is_single_precision(type_) else None
        return numeric(float, -limit if limit else None, limit, checks or {})
    return python_type


def _is_single_precision(type_: sa.types.TypeEngine[Any]) -> bool:
    if isinstance(type_, sa.REAL):
        return True
    precision = getattr(type_, "precision", None)
    return isinstance(type_, sa.Float) and precision is not None and precision <= 24


def _describe(field_type: Any, column: sa.Column[Any]) -> Any:
    text = column.comment or column.doc
    if not text:
        return field_type
    return Annotated[field_type, msgspec.Meta(description=text)]


def _create_default(column: sa.Column[Any]) -> Any:
    """The Create field's default: the column's scalar default, UNSET, None, or required."""
    default = column.default
    if isinstance(default, sa.ColumnDefault) and default.is_scalar:
        return default.arg
    if default is not None or column.server_default is not None:
        return UNSET
    if column.nullable:
        return None
    return msgspec.NODEFAULT


def _field(model: type, column: _Column, kind: Kind) -> tuple[str, Any] | tuple[str, Any, Any]:
    declared = _declared_type(model, column.key) if isinstance(column.column.type, sa.JSON) else Any
    checks = check_bounds(column.column)
    field_type = _describe(
        schema_field_type(column.column.type, kind, declared, checks), column.column
    )
    if column.write_only:
        # Said in the JSON Schema (OpenAPI's writeOnly), and read by plait.forms, which then
        # never writes the value back into a page.
        field_type = Annotated[field_type, msgspec.Meta(extra_json_schema={"writeOnly": True})]
    nullable = bool(column.column.nullable)
    if kind == "read":
        return (column.key, field_type | None if nullable else field_type)
    if nullable:
        field_type = field_type | None
    if kind == "update":
        return (column.key, field_type | UnsetType, UNSET)
    default = _create_default(column.column)
    if default is msgspec.NODEFAULT:
        return (column.key, field_type)
    if default is UNSET:
        field_type = field_type | UnsetType
    return (column.key, field_type, default)


def _datetime_fixer(columns: list[_Column], kind: Kind) -> Callable[[Any], None] | None:
    """``__post_init__`` moving datetimes between the API's form and each column's.

    The API speaks RFC 3339 date-times, always with an offset. A plain ``DateTime`` column
    holds naive UTC: input is converted to it, and output read from it is marked UTC. A
    ``DateTime(timezone=True)`` column keeps aware values (SQLite hands them back naive, as
    UTC). Drivers would otherwise refuse a mismatch, and only at INSERT time.
    """
    datetimes = [c for c in columns if isinstance(storage_type(c.column.type), sa.DateTime)]
    if not datetimes:
        return None
    keys = [c.key for c in datetimes]
    naive = {c.key for c in datetimes if not getattr(c.column.type, "timezone", False)}

    def __post_init__(self: Any) -> None:
        for key in keys:
            value = getattr(self, key, None)
            if not isinstance(value, datetime.datetime):
                continue
            if value.tzinfo is None:
                setattr(self, key, value.replace(tzinfo=_UTC))
            elif kind != "read" and key in naive:
                setattr(self, key, value.astimezone(_UTC).replace(tzinfo=None))

    return __post_init__


def _relationship_fields(model: type, depth: int, exclude: tuple[str, ...]) -> list[Any]:
    mapper: Mapper[Any] = sa.inspect(model)
    options = options_of(model)
    fields: list[Any] = []
    for rel in mapper.relationships:
        if rel.key in exclude or rel.key in options.exclude or rel.key in options.write_only:
            continue
        if rel.info.get("exclude") or rel.info.get("write_only"):
            continue
        target = model_schema(rel.mapper.class_, "read", depth=depth - 1)
        fields.append((rel.key, list[target] if rel.uselist else target | None))  # type: ignore[valid-type]
    return fields


def _schema_name(model: type, kind: Kind, depth: int, exclude: tuple[str, ...]) -> str:
    name = f"{model.__name__}{kind.capitalize()}"
    if depth:
        name += f"Depth{depth}"
    if exclude:
        name += "Without" + "".join(part.title().replace("_", "") for part in sorted(exclude))
    return name


def model_schema(
    model: type,
    kind: Kind,
    *,
    depth: int | None = None,
    exclude: Iterable[str] = (),
    name: str | None = None,
    relations: bool = True,
) -> type[msgspec.Struct]:
    """The ``read``, ``create`` or ``update`` Struct of ``model`` (built once, then cached).

    ``Article.Read`` is ``model_schema(Article, "read")``; call this directly for variants::

        ArticleWithAuthor = model_schema(Article, "read", depth=1)
        ArticleSummary = model_schema(Article, "read", exclude=["body"])

    - **read**: every column except write-only ones, nullable columns as ``T | None``, plus
      relationships nested ``depth`` levels deep (load them eagerly: :func:`load_options`).
    - **create**: writable columns; those with a default (or nullable ones) are optional,
      primary keys and timestamps the database fills are absent; unknown fields are refused.
    - **update**: the writable, non-key columns, all optional (``UNSET`` when absent), so a
      PATCH changes exactly what it sends; ``null`` only where the column is nullable.
    """
    exclude = tuple(sorted(set(exclude)))
    if depth is None:
        depth = options_of(model).depth if kind == "read" else 0
    if not relations and not declared_relations(model, options_of(model).relations):
        relations = True  # the same schema: nothing to leave out
    key = (model, kind, depth, exclude, name, relations)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    configure_mappers()
    columns = [c for c in _columns(model) if c.key not in exclude]
    if kind == "read":
        fields = [_field(model, c, kind) for c in columns if not c.write_only]
        if depth > 0:
            fields.extend(_relationship_fields(model, depth, exclude))
    else:
        writable = [c for c in columns if not c.read_only]
        if kind == "update":
            writable = [c for c in writable if not c.column.primary_key]
        fields = [_field(model, c, kind) for c in writable]
    rename: dict[str, str] = {}
    if relations:
        extra, rename = relation_fields(
            model,
            kind,
            options_of(model).relations,
            exclude,
            lambda column: schema_field_type(column.type, kind, Any, check_bounds(column)),
            lambda target: model_schema(target, "read", depth=0, relations=False),
        )
        fields.extend(extra)
    rename = _renamed([f[0] for f in fields], rename, options_of(model).rename)
    namespace: dict[str, Any] = {"__doc__": f"{kind.capitalize()} schema of {model.__name__}."}
    fixer = _datetime_fixer(columns, kind)
    if fixer is not None:
        namespace["__post_init__"] = fixer
    schema = msgspec.defstruct(
        name or _schema_name(model, kind, depth, exclude) + ("" if relations else "Flat"),
        fields,
        kw_only=True,
        forbid_unknown_fields=kind != "read",
        rename=rename or None,
        bases=(Refinable,),
        module=model.__module__,
        namespace=namespace,
    )
    _CACHE[key] = schema
    return schema


def _renamed(
    names: list[str], renamed: dict[str, str], option: Literal["camel"] | Mapping[str, str] | None
) -> dict[str, str]:
    """The JSON names of a schema's fields: the relations' own (``_tags_keys`` is ``tags``),
    then the model's ``SchemaOptions.rename``."""
    if option is None:
        return renamed
    result: dict[str, str] = {}
    for name in names:
        base = renamed.get(name, name)
        if option == "camel":
            first, *rest = base.split("_")
            result[name] = first + "".join(word[:1].upper() + word[1:] for word in rest)
        elif isinstance(option, Mapping):
            result[name] = option.get(base, base)
    return result


def load_options(model: type, depth: int | None = None) -> list[_AbstractLoad]:
    """Eager-loading options for the relationships a ``depth``-deep Read schema nests::

    select(Article).options(*load_options(Article, depth=1))
    """
    if depth is None:
        depth = options_of(model).depth
    if depth > 0:  # every relationship is loaded already
        return _load_chain(model, depth, None)
    return relation_load_options(model, options_of(model).relations)


def _load_chain(model: type, depth: int, parent: Any) -> list[Any]:
    if depth <= 0:
        return []
    configure_mappers()
    options: list[Any] = []
    mapper: Mapper[Any] = sa.inspect(model)
    excluded = set(options_of(model).exclude) | set(options_of(model).write_only)
    for rel in mapper.relationships:
        if rel.key in excluded or rel.info.get("exclude") or rel.info.get("write_only"):
            continue
        loader = eager_loader(rel, parent)
        nested = _load_chain(rel.mapper.class_, depth - 1, loader)
        options.extend(nested or [loader])
    return options


def values(data: msgspec.Struct | Mapping[str, Any]) -> dict[str, Any]:
    """The fields of ``data`` that were given (``UNSET`` ones left out), as a dict."""
    if isinstance(data, Mapping):
        return {k: v for k, v in data.items() if v is not UNSET}
    return {
        name: value
        for name in data.__struct_fields__
        if (value := getattr(data, name)) is not UNSET
    }


def apply(obj: Any, data: msgspec.Struct | Mapping[str, Any]) -> Any:
    """Set on ``obj`` the fields ``data`` gives (a PATCH: absent fields stay as they were)::

    article = await get_or_404(session, Article, article_id)
    apply(article, patch)
    """
    fields = values(data)
    set_relations(obj, fields, options_of(type(obj)).relations)
    for name, value in fields.items():
        setattr(obj, name, value)
    return obj
