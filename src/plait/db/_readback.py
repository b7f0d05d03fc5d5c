"""What ``crud_router``'s create, replace and update answer: the row as the database stored it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from plait.db._readplan import shape_of
from plait.db._reads import read_one

__all__ = ["known_when_inserted", "known_when_updated", "read_back"]

_AS_SENT = frozenset(
    {
        sa.BigInteger,
        sa.Boolean,
        sa.Date,
        sa.Integer,
        sa.SmallInteger,
        sa.String,
        sa.Text,
        sa.Unicode,
        sa.UnicodeText,
        sa.Uuid,
    }
)
"""Column types whose value the database hands back exactly as it was written, on
PostgreSQL and SQLite. Not among them: ``Numeric`` (rounded to its scale), ``DateTime``
(moved to UTC), ``Float`` (a ``REAL`` loses digits), ``JSON`` (``jsonb`` reorders keys),
``CHAR`` (padded), ``Enum``, and every ``TypeDecorator`` (which may change a value on
its way in)."""


def read_back(
    model: type, read: type[msgspec.Struct], options: list[Any]
) -> Callable[[AsyncSession, Any], Awaitable[Any]]:
    """``answer(session, obj)``: a flushed ``obj`` of ``model`` as ``read`` shows it.

    PERF: ``obj`` itself when it already holds every field of ``read`` as stored: each is a
    plain column of a type in :data:`_AS_SENT`, and none was expired by the flush (a SQL
    expression, a server default the INSERT did not return, an ``onupdate`` computed by the
    database). A create through ``crud_router`` then costs one statement, its ``INSERT ...
    RETURNING``, where reading the row back through the ORM cost about half of the
    request's CPU time (``bench/db_probe.py``, ``POST /worlds``). Otherwise the row is read
    back, as rows (``read_one``) when ``read``'s shape allows, else through the ORM with
    ``options`` loading its relationships.
    """
    mapper: sa.orm.Mapper[Any] = sa.inspect(model)
    (pk_column,) = mapper.primary_key
    pk_name = mapper.get_property_by_column(pk_column).key
    pk_attr = getattr(model, pk_name)
    fields = frozenset(read.__struct_fields__)
    as_sent = not options and all(_as_sent(mapper, field) for field in fields)
    rows = shape_of(model, read) is not None

    async def answer(session: AsyncSession, obj: Any) -> Any:
        if as_sent and fields.isdisjoint(sa.inspect(obj).unloaded):
            return obj
        if rows:
            return await read_one(session, read, getattr(obj, pk_name), model=model)
        # Server defaults, onupdate values and nested relationships, freshly read.
        query: sa.Select[Any] = sa.select(model).where(pk_attr == getattr(obj, pk_name))
        query = query.options(*options)
        return (await session.scalars(query.execution_options(populate_existing=True))).one()

    return answer


def _as_sent(mapper: sa.orm.Mapper[Any], field: str) -> bool:
    prop = mapper.column_attrs.get(field)
    if prop is None or len(prop.columns) != 1:
        return False
    column = prop.columns[0]
    return isinstance(column, sa.Column) and type(column.type) in _AS_SENT


def known_when_inserted(model: type, read: type[msgspec.Struct]) -> bool:
    """Whether a new ``model`` object holds every field of ``read`` as stored once its INSERT
    ran, whatever the database: each a column of a type in :data:`_AS_SENT` that the
    database does not compute (no server default, SQL expression or ``Computed``), except
    the primary key, which every INSERT hands back."""
    return _known_after(model, read, "insert")


def known_when_updated(model: type, read: type[msgspec.Struct]) -> bool:
    """Whether a loaded ``model`` object, changed, holds every field of ``read`` as stored
    once its UPDATE ran: each a column of a type in :data:`_AS_SENT` whose new value is not
    computed by the database (no SQL expression ``onupdate``, no ``server_onupdate``)."""
    return _known_after(model, read, "update")


def _known_after(model: type, read: type[msgspec.Struct], statement: str) -> bool:
    mapper: sa.orm.Mapper[Any] = sa.inspect(model)
    for field in read.__struct_fields__:
        if not _as_sent(mapper, field):
            return False
        column = mapper.column_attrs[field].columns[0]
        assert isinstance(column, sa.Column)
        if statement == "insert":
            if column.primary_key:
                continue
            default, server = column.default, column.server_default
        else:
            default, server = column.onupdate, column.server_onupdate
        if server is not None:
            return False
        if default is not None and not (default.is_scalar or default.is_callable):
            return False
    return True
