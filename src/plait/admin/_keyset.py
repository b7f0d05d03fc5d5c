"""Keyset pagination: the changelist's next and previous pages found from a row's sort key.

``OFFSET 500000`` makes the database walk past half a million rows; ``WHERE (title, id) >
('row-0500000', 500000) ORDER BY title, id LIMIT 50`` starts where an index says, and costs
what the first page does at any depth. It fits when every column of the order is NOT NULL,
of a plainly comparable type, and all run the same way (the primary key follows the sort
column's direction). The key travels in the page links as a JSON list of strings
(``?p=3&after=["row-0000100","100"]``), converted back as the API converts a column's value;
a key that does not convert is ignored (the page is then found by its number).
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import msgspec
import sqlalchemy as sa

from plait.admin._options import ModelAdmin

__all__ = ["CURSORS", "Cursor", "Keyset", "decode_key", "encode_key", "keyset_of", "seek"]

CURSORS = ("after", "before")
"""The query parameters carrying a key: the rows after it, or the rows before it."""
_COMPARABLE = (
    str,
    int,
    float,
    decimal.Decimal,
    datetime.date,
    datetime.datetime,
    datetime.time,
    uuid.UUID,
)


@dataclass(frozen=True)
class Keyset:
    """The order's columns (sort columns, then the primary key) and its direction."""

    names: tuple[str, ...]
    descending: bool


@dataclass(frozen=True)
class Cursor:
    """Rows strictly ``after`` (or ``before``) ``values`` in the changelist's order."""

    direction: Literal["after", "before"]
    values: tuple[Any, ...]


_MOMENTS = (datetime.date, datetime.time)  # datetime.datetime is a date


def keyset_of(admin: ModelAdmin, entries: Sequence[str], dialect: str = "") -> Keyset | None:
    """The keyset of an order (``["-title", "-id"]``), or None when one does not fit.

    Not on SQLite for dates and times: it stores them as text, a server default
    (``CURRENT_TIMESTAMP``) without the microseconds SQLAlchemy writes, so equal moments
    compare unequal as text and a page would come round again.
    """
    if len({entry.startswith("-") for entry in entries}) != 1:
        return None
    names = tuple(entry.lstrip("-") for entry in entries)
    for name in names:
        column = admin.columns[name]
        if column.nullable and not column.primary_key:
            return None  # NULLs sort apart from every value: no single comparison finds them
        try:
            python_type = column.type.python_type
        except NotImplementedError:
            return None
        if not issubclass(python_type, _COMPARABLE) or issubclass(python_type, bool):
            return None
        if dialect == "sqlite" and issubclass(python_type, _MOMENTS):
            return None
    return Keyset(names, entries[0].startswith("-"))


def encode_key(keyset: Keyset, obj: Any) -> str:
    """``obj``'s key as a query parameter's value: a JSON list of strings."""
    values = [getattr(obj, name) for name in keyset.names]
    texts = [v.isoformat() if hasattr(v, "isoformat") else str(v) for v in values]
    return msgspec.json.encode(texts).decode()


def decode_key(keyset: Keyset, text: str) -> list[str] | None:
    """The strings of a key made by :func:`encode_key` (None if it is not one)."""
    try:
        texts = msgspec.json.decode(text, type=list[str])
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return texts if len(texts) == len(keyset.names) else None


def seek(
    admin: ModelAdmin, keyset: Keyset, query: sa.Select[Any], cursor: Cursor
) -> sa.Select[Any]:
    """``query`` narrowed to the rows past the cursor, nearest first.

    Rows ``before`` the cursor come in reverse order (the caller turns them round).
    """
    columns = [getattr(admin.model, name) for name in keyset.names]
    backwards = cursor.direction == "before"
    # The columns grow along the order (ascending) or shrink (descending); reading
    # backwards swaps both the comparison and the direction of the scan.
    growing = keyset.descending == backwards
    if len(columns) == 1:
        left: Any = columns[0]
        right: Any = cursor.values[0]
    else:
        bound = (sa.literal(v, c.type) for v, c in zip(cursor.values, columns, strict=True))
        left, right = sa.tuple_(*columns), sa.tuple_(*bound)
    query = query.where(left > right if growing else left < right)
    return query.order_by(*(c.asc() if growing else c.desc() for c in columns))
