"""What a read into a schema selects, and how a row becomes the schema: planned once per shape.

A *shape* is the columns a ``Read``-like Struct shows of a model (and of the rows its
many-to-one relationships point to, joined into the same query), with a function that
builds the Struct from a row of them. A *plan* is a shape's ``select()`` compiled once for
a dialect: the SQL asyncpg runs as a prepared statement, and where each of its parameters
comes from.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import MANYTOONE, Mapper

from plait.db import _schemas

__all__ = [
    "Constant",
    "Fast",
    "Layout",
    "Plan",
    "Shape",
    "model_of",
    "plan_for_key",
    "plan_for_query",
    "shape_of",
]

_MAX_PLANS = 1000
"""Plans kept per process: beyond, the cache starts again (a query built with varying
structure, such as a changing number of filters, must not grow it forever)."""


@dataclass(frozen=True, slots=True)
class Shape:
    """The columns a schema shows (joined relations included) and the row-to-Struct builder."""

    model: type
    columns: tuple[sa.ColumnElement[Any], ...]
    joins: tuple[tuple[Any, Any, bool], ...]
    """``(relationship attribute, aliased target, outer)`` for each many-to-one joined in."""
    layout: Layout
    build: Callable[[Sequence[Any]], Any]
    """A row of SQLAlchemy's (values converted already) to the schema."""

    def builder(self, converters: dict[int, Callable[[Any], Any]]) -> Callable[[Any], Any]:
        """A row of the driver's to the schema, ``converters`` applied by column index."""
        return _generate(self.layout, converters) if converters else self.build

    def select(self, query: sa.Select[Any]) -> sa.Select[Any]:
        """``query`` (a ``select()`` of the model, with its where/order/limit) selecting
        this shape's columns instead of the entity."""
        shaped = query.with_only_columns(*self.columns, maintain_column_froms=False)
        for attr, target, outer in self.joins:
            shaped = shaped.join_from(self.model, target, attr.of_type(target), isouter=outer)
        return shaped


@dataclass(frozen=True, slots=True)
class Layout:
    """Where each field of a schema is in a row: ``(field, column index)``, and per nested
    Struct ``(field, Struct, its fields, index of its key)``."""

    schema: type[msgspec.Struct]
    fields: tuple[tuple[str, int], ...]
    nested: tuple[tuple[str, type[msgspec.Struct], tuple[tuple[str, int], ...], int], ...]


def _generate(
    layout: Layout, converters: dict[int, Callable[[Any], Any]]
) -> Callable[[Sequence[Any]], Any]:
    """The row-to-Struct function of ``layout``, written out: ``S(id=r[0], name=C1(r[1]))``.

    PERF: one Struct constructor call per row, no dict, no per-field loop (like the
    generated extractors); a converter only where the column's type has one.
    """
    namespace: dict[str, Any] = {"S": layout.schema}
    for index, convert in converters.items():
        namespace[f"C{index}"] = convert

    def value(index: int) -> str:
        return f"C{index}(r[{index}])" if index in converters else f"r[{index}]"

    arguments = [f"{name}={value(index)}" for name, index in layout.fields]
    for number, (name, target, fields, key) in enumerate(layout.nested):
        namespace[f"T{number}"] = target
        inner = ", ".join(f"{field}={value(index)}" for field, index in fields)
        arguments.append(f"{name}=None if r[{key}] is None else T{number}({inner})")
    source = f"def build(r):\n    return S({', '.join(arguments)})\n"
    exec(compile(source, f"<plait.db read of {layout.schema.__name__}>", "exec"), namespace)
    build: Callable[[Sequence[Any]], Any] = namespace["build"]
    return build


@dataclass(frozen=True, slots=True)
class Constant:
    """A parameter whose value the compiled statement fixes (not in the query's cache key)."""

    value: Any


@dataclass(slots=True)
class Fast:
    """A plan compiled for asyncpg or aiosqlite: the SQL, and per positional parameter where
    its value comes from (an index into the query's cache-key parameters, the key ``"pk"``,
    or a :class:`Constant`) and the type's bind processor, if any."""

    sql: str
    sources: tuple[Any, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]
    build: Callable[[Sequence[Any]], Any]
    """A row of the driver's to the schema, with the column types' result processors."""
    driver: str


@dataclass(slots=True)
class Plan:
    """A shape's statement (run by SQLAlchemy when the fast path can't be used) and its
    compiled form for the last dialect it ran on (``None``: that dialect falls back)."""

    shape: Shape
    statement: sa.Select[Any]
    key_names: tuple[str, ...] = ()
    """The bind names of the query's cache-key parameters, in the key's order."""
    compiled: dict[Dialect, Fast | None] = field(default_factory=dict)

    def fast_for(self, dialect: Dialect) -> Fast | None:
        """The compiled form for ``dialect`` (an engine's), compiled on first use."""
        try:
            return self.compiled[dialect]
        except KeyError:
            fast = self.compiled[dialect] = _compile(self, dialect)
            return fast


_MODELS: dict[type, type | None] = {}
_SHAPES: dict[tuple[type, type], Shape | None] = {}
_PLANS: dict[Any, Plan | None] = {}


def model_of(schema: type[msgspec.Struct]) -> type | None:
    """The model ``schema`` was derived from by :func:`~plait.db.model_schema`, if it was."""
    try:
        return _MODELS[schema]
    except KeyError:
        pass
    found = next((key[0] for key, value in _schemas._CACHE.items() if value is schema), None)
    if found is not None:
        _MODELS[schema] = found
    return found


def _plain_columns(mapper: Mapper[Any], names: Sequence[str]) -> list[sa.Column[Any]] | None:
    """The table column behind each attribute name, or ``None`` if one is anything else."""
    if mapper.inherits is not None or mapper.polymorphic_on is not None:
        return None
    columns = []
    for name in names:
        prop = mapper.column_attrs.get(name)
        if prop is None or len(prop.columns) != 1:
            return None
        column = prop.columns[0]
        if not isinstance(column, sa.Column) or column.table is not mapper.local_table:
            return None
        columns.append(column)
    return columns


def _nested_struct(field_type: Any) -> type[msgspec.Struct] | None:
    """The Struct of a field typed ``Struct`` or ``Struct | None``."""
    union = isinstance(field_type, msgspec.inspect.UnionType)
    options = field_type.types if union else (field_type,)
    structs = [t.cls for t in options if isinstance(t, msgspec.inspect.StructType)]
    nones = [t for t in options if isinstance(t, msgspec.inspect.NoneType)]
    return structs[0] if len(structs) == 1 and len(structs) + len(nones) == len(options) else None


def shape_of(model: type, schema: type[msgspec.Struct]) -> Shape | None:
    """The shape of ``schema`` read from ``model``, or ``None`` when a field is not a plain
    column of the model's table nor a many-to-one relationship nesting plain columns (a
    collection, a Python property, a SQL expression): the ORM reads those."""
    key = (model, schema)
    if key in _SHAPES:
        return _SHAPES[key]
    shape = _SHAPES[key] = _make_shape(model, schema)
    return shape


def _make_shape(model: type, schema: type[msgspec.Struct]) -> Shape | None:
    mapper: Mapper[Any] = sa.inspect(model)
    info = msgspec.inspect.type_info(schema)
    assert isinstance(info, msgspec.inspect.StructType)
    flat = [f.name for f in info.fields if f.name in mapper.column_attrs]
    own = _plain_columns(mapper, flat)
    names = [f.name for f in info.fields]
    if own is None or not all(n.isidentifier() and not keyword.iskeyword(n) for n in names):
        return None  # a generated builder passes them as keyword arguments
    columns: list[sa.ColumnElement[Any]] = [c.label(n) for c, n in zip(own, flat, strict=True)]
    fields = tuple((name, index) for index, name in enumerate(flat))
    nested_layout = []
    joins = []
    for nested in (f for f in info.fields if f.name not in mapper.column_attrs):
        rel = mapper.relationships.get(nested.name)
        target_schema = _nested_struct(nested.type)
        if rel is None or rel.direction is not MANYTOONE or rel.uselist or target_schema is None:
            return None
        target_mapper: Mapper[Any] = rel.mapper
        target_fields = list(target_schema.__struct_fields__)
        target_columns = _plain_columns(target_mapper, target_fields)
        if target_columns is None or len(target_mapper.primary_key) != 1:
            return None
        key_name = target_mapper.get_property_by_column(target_mapper.primary_key[0]).key
        if key_name not in target_fields:
            return None
        alias = sa.orm.aliased(target_mapper.class_)
        outer = not all(c.foreign_keys and not c.nullable for c in rel.local_columns)
        joins.append((rel.class_attribute, alias, outer))
        start = len(columns)
        for name in target_fields:
            columns.append(getattr(alias, name).label(f"{nested.name}__{name}"))
        inner = tuple((name, start + i) for i, name in enumerate(target_fields))
        key = start + target_fields.index(key_name)
        nested_layout.append((nested.name, target_schema, inner, key))
    layout = Layout(schema, fields, tuple(nested_layout))
    return Shape(model, tuple(columns), tuple(joins), layout, _generate(layout, {}))


def plan_for_key(model: type, schema: type[msgspec.Struct]) -> Plan | None:
    """The plan reading the row of ``model`` with primary key ``:pk`` into ``schema``."""
    key = ("pk", model, schema)
    if key in _PLANS:
        return _PLANS[key]
    shape = shape_of(model, schema)
    mapper: Mapper[Any] = sa.inspect(model)
    plan = None
    if shape is not None and len(mapper.primary_key) == 1:
        where = mapper.primary_key[0] == sa.bindparam("pk")
        plan = Plan(shape, shape.select(sa.select(model)).where(where))
    _PLANS[key] = plan
    return plan


def plan_for_query(
    schema: type[msgspec.Struct], query: sa.Select[Any], cache_key: Any
) -> Plan | None:
    """The plan of ``query`` (a ``select()`` of one model) read into ``schema``, found by
    the query's SQLAlchemy cache key: queries that differ only in their values share it."""
    key = (schema, cache_key.key)
    if key in _PLANS:
        return _PLANS[key]
    if len(_PLANS) >= _MAX_PLANS:
        _PLANS.clear()
    plan = None
    entity = _single_entity(query)
    if entity is not None and not query._with_options:  # loader options: the ORM's job
        shape = shape_of(entity, schema)
        froms = query.get_final_froms()
        table: Any = sa.inspect(entity).local_table
        if shape is not None and (not shape.joins or list(froms) == [table]):
            names = tuple(bind.key for bind in cache_key.bindparams)
            plan = Plan(shape, shape.select(query), names)
    _PLANS[key] = plan
    return plan


def _single_entity(query: sa.Select[Any]) -> type | None:
    described = query.column_descriptions
    if len(described) != 1:
        return None
    entity = described[0].get("entity")
    return entity if entity is not None and described[0].get("expr") is entity else None


_DRIVERS = ("asyncpg", "aiosqlite")


def _compile(plan: Plan, dialect: Dialect) -> Fast | None:
    """``plan``'s statement compiled for asyncpg or aiosqlite, or ``None`` (another
    driver; a column whose conversion needs the driver's type code, asyncpg's numerics;
    parameters expanded at execution, ``IN``)."""
    if dialect.driver not in _DRIVERS:
        return None
    converters: dict[int, Callable[[Any], Any]] = {}
    for index, column in enumerate(plan.shape.columns):
        try:
            convert = column.type.dialect_impl(dialect).result_processor(dialect, None)
        except Exception:  # wants the driver's type code (asyncpg's numeric)
            return None
        if convert is not None:
            converters[index] = convert  # what SQLAlchemy's result would apply
    compiled: Any = plan.statement.compile(dialect=dialect)
    if compiled.post_compile_params or compiled.literal_execute_params:
        return None
    sources: list[int | str | Constant] = []
    processors = []
    for name in compiled.positiontup or ():
        bind = compiled.binds[name]
        if bind.key == "pk" and not plan.key_names:
            sources.append("pk")
        elif bind.key in plan.key_names:
            sources.append(plan.key_names.index(bind.key))
        elif bind.value is not None and not bind.required and not callable(bind.value):
            sources.append(Constant(bind.value))  # one the dialect adds (SQLite's OFFSET 0)
        else:
            return None
        processors.append(bind.type.dialect_impl(dialect).bind_processor(dialect))
    build = plan.shape.builder(converters)
    return Fast(compiled.string, tuple(sources), tuple(processors), build, dialect.driver)
