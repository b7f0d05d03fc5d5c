"""Pagination over ``select()``: page/size with a total count, and keyset (cursor) pages."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Annotated, Any, Generic, TypeVar, overload

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from plait import HTTPException, Query
from plait.db._reads import read_all
from plait.db._types import AnySelect

__all__ = [
    "MAX_OFFSET",
    "MAX_PAGE",
    "MAX_PAGE_SIZE",
    "KeysetPage",
    "Limit",
    "Offset",
    "OffsetPage",
    "Page",
    "PageNumber",
    "PageSize",
    "paginate",
    "paginate_keyset",
]

T = TypeVar("T")

MAX_PAGE_SIZE = 100
"""The largest page :func:`paginate` returns unless told otherwise."""
MAX_PAGE = 2**31 - 1
"""The largest page number: past it, OFFSET would overflow some databases."""

PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page number, from 1.")]
"""A ``page`` query parameter type, bounded so that no database overflows."""
PageSize = Annotated[
    int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"Items per page (1 to {MAX_PAGE_SIZE}).")
]
"""A ``size`` query parameter type, capped at :data:`MAX_PAGE_SIZE`."""
MAX_OFFSET = 2**31 - 1
"""The largest ``offset``: within every database's range (and past any sensible OFFSET)."""
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="How many items to skip, from 0.")]
"""An ``offset`` query parameter type, bounded so that no database overflows."""
Limit = Annotated[
    int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"Items to return (1 to {MAX_PAGE_SIZE}).")
]
"""A ``limit`` query parameter type, capped at :data:`MAX_PAGE_SIZE`."""


class Page(msgspec.Struct, Generic[T], kw_only=True):
    """One page of results: ``items``, the ``total`` across pages, and where this page is.

    Declare ``-> Page[Article.Read]`` and return :func:`paginate`'s result: the items are
    converted to ``Article.Read`` on the way out.
    """

    items: list[T]
    total: int
    page: int
    size: int
    pages: int


class OffsetPage(msgspec.Struct, Generic[T], kw_only=True):
    """Some results by ``limit``/``offset``: ``items``, the ``total`` matching, and the
    ``limit`` and ``offset`` used. :func:`paginate` returns one when given ``limit=``."""

    items: list[T]
    total: int
    limit: int
    offset: int


class KeysetPage(msgspec.Struct, Generic[T], kw_only=True):
    """One page of a keyset pagination: pass ``next`` back as the cursor to get the next one
    (``None`` on the last page). ``total`` is ``None`` unless asked for."""

    items: list[T]
    next: str | None
    size: int
    total: int | None = None


# A result subclass, so that a handler declared ``-> Page[Article.Read]`` re-reads the
# attributes of the ORM objects instead of passing them through (msgspec only passes through
# instances of exactly the declared class).
class _LoadedPage(Page[T], Generic[T]):
    pass


class _LoadedKeysetPage(KeysetPage[T], Generic[T]):
    pass


class _LoadedOffsetPage(OffsetPage[T], Generic[T]):
    pass


def _single_entity(statement: AnySelect) -> bool:
    return len(statement.column_descriptions) == 1


async def _fetch(
    session: AsyncSession, statement: AnySelect, schema: type[msgspec.Struct] | None
) -> list[Any]:
    if schema is not None:
        return await read_all(session, schema, statement)
    if _single_entity(statement):
        return list((await session.scalars(statement)).all())
    return list((await session.execute(statement)).all())


@overload
async def paginate(
    session: AsyncSession,
    statement: AnySelect,
    *,
    page: int = 1,
    size: int = 20,
    max_size: int = MAX_PAGE_SIZE,
    schema: type[msgspec.Struct] | None = None,
) -> Page[Any]: ...
@overload
async def paginate(
    session: AsyncSession,
    statement: AnySelect,
    *,
    limit: int,
    offset: int = 0,
    max_size: int = MAX_PAGE_SIZE,
    schema: type[msgspec.Struct] | None = None,
) -> OffsetPage[Any]: ...
async def paginate(
    session: AsyncSession,
    statement: AnySelect,
    *,
    page: int = 1,
    size: int = 20,
    limit: int | None = None,
    offset: int = 0,
    max_size: int = MAX_PAGE_SIZE,
    schema: type[msgspec.Struct] | None = None,
) -> Page[Any] | OffsetPage[Any]:
    """Run ``statement`` for one page, and count every row it matches::

        @app.get("/articles")
        async def articles(session: Session, page: PageNumber = 1, size: PageSize = 20
        ) -> Page[Article.Read]:
            query = select(Article).order_by(Article.id)
            return await paginate(session, query, page=page, size=size)

    ``size`` is capped at ``max_size`` and ``page`` kept within 1..:data:`MAX_PAGE`; give
    the statement an ``order_by`` so that pages are stable.

    With ``limit=`` (and ``offset=``) it pages by offset instead, and returns an
    :class:`OffsetPage` (``items``, ``total``, ``limit``, ``offset``); :data:`Limit` and
    :data:`Offset` are the matching query parameter types::

        async def items(session: Session, limit: Limit = 20, offset: Offset = 0
        ) -> OffsetPage[Item.Read]:
            return await paginate(session, select(Item).order_by(Item.id), limit=limit,
                                  offset=offset)

    An ``offset`` outside 0..:data:`MAX_OFFSET` is a 422 naming the ``offset`` parameter.
    ``schema=Article.Read`` reads the items straight into it (:func:`~plait.db.read_all`)
    instead of loading ORM objects.
    """
    total = int(
        await session.scalar(
            sa.select(sa.func.count()).select_from(statement.order_by(None).subquery())
        )
        or 0
    )
    if limit is not None:
        if not 0 <= offset <= MAX_OFFSET:
            raise HTTPException(
                422,
                f"offset: must be from 0 to {MAX_OFFSET}",
                title="Validation Error",
                extra={"errors": [_range_error("offset", 0, MAX_OFFSET)]},
            )
        limit = max(1, min(limit, max_size))
        found = await _fetch(session, statement.limit(limit).offset(offset), schema)
        return _LoadedOffsetPage(items=found, total=total, limit=limit, offset=offset)
    size = max(1, min(size, max_size))
    page = max(1, min(page, MAX_PAGE))
    items = await _fetch(session, statement.limit(size).offset((page - 1) * size), schema)
    pages = (total + size - 1) // size
    return _LoadedPage(items=items, total=total, page=page, size=size, pages=pages)


def _range_error(name: str, low: int, high: int) -> dict[str, Any]:
    return {
        "loc": ["query", name],
        "msg": f"Expected a number from {low} to {high}",
        "type": "out_of_range",
    }


def _encode_cursor(values: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(list(values))).rstrip(b"=").decode()


def _decode_cursor(cursor: str, types: list[Any], param: str) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return list(msgspec.json.decode(raw, type=tuple[*types]))  # type: ignore[valid-type]
    except (binascii.Error, ValueError, msgspec.DecodeError, msgspec.ValidationError):
        raise HTTPException(
            422,
            f"{param}: not a cursor this endpoint returned",
            title="Validation Error",
            extra={
                "errors": [{"loc": ["query", param], "msg": "Invalid cursor", "type": "invalid"}]
            },
        ) from None


def _python_type(column: Any) -> Any:
    try:
        return column.type.python_type
    except NotImplementedError:
        return Any


async def paginate_keyset(
    session: AsyncSession,
    statement: AnySelect,
    *,
    order_by: Sequence[Any],
    cursor: str | None = None,
    size: int = 20,
    max_size: int = MAX_PAGE_SIZE,
    descending: bool = False,
    with_total: bool = False,
    cursor_param: str = "cursor",
) -> KeysetPage[Any]:
    """Keyset ("seek") pagination: rows after the cursor's key, in key order.

    Unlike OFFSET, each page costs the same however deep it is, and rows inserted meanwhile
    do not shift pages. ``order_by`` are the key columns and must be unique together
    (end with the primary key)::

        await paginate_keyset(session, select(Article), order_by=[Article.created_at,
                              Article.id], cursor=cursor, size=size)

    ``cursor`` is the ``next`` of the previous page; a cursor this function did not make is
    a 422 naming the ``cursor_param`` query parameter.
    """
    if not order_by:
        raise ValueError("paginate_keyset needs the key columns in order_by")
    size = max(1, min(size, max_size))
    columns = [sa.inspect(c).expression if hasattr(c, "property") else c for c in order_by]
    keys = [getattr(c, "key", None) for c in order_by]
    query = statement
    if cursor is not None:
        after = _decode_cursor(cursor, [_python_type(c) for c in columns], cursor_param)
        left = columns[0] if len(columns) == 1 else sa.tuple_(*columns)
        right = (
            sa.literal(after[0], columns[0].type)
            if len(columns) == 1
            else sa.tuple_(*(sa.literal(v, c.type) for v, c in zip(after, columns, strict=True)))
        )
        query = query.where(left < right if descending else left > right)
    ordering = [c.desc() if descending else c.asc() for c in columns]
    rows = await _fetch(session, query.order_by(None).order_by(*ordering).limit(size + 1), None)
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        next_cursor = _encode_cursor([_key_value(last, key) for key in keys])
    total = None
    if with_total:
        total = int(
            await session.scalar(
                sa.select(sa.func.count()).select_from(statement.order_by(None).subquery())
            )
            or 0
        )
    return _LoadedKeysetPage(items=rows, next=next_cursor, size=size, total=total)


def _key_value(row: Any, key: str | None) -> Any:
    if key is None:
        raise ValueError("paginate_keyset order_by columns need names (use model attributes)")
    mapping = getattr(row, "_mapping", None)
    value = mapping[key] if mapping is not None and key in mapping else getattr(row, key)
    return msgspec.to_builtins(value)
