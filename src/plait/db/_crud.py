"""Helpers Django users reach for, written over SQLAlchemy's ``select()`` (not instead of it)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any, TypeVar, overload

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from plait import HTTPException
from plait.db._readplan import model_of
from plait.db._reads import read_one
from plait.db._types import AnySelect

__all__ = ["bulk_create", "bulk_update", "count", "exists", "get_or_404"]

M = TypeVar("M")


@overload
async def get_or_404(
    session: AsyncSession,
    target: type[M],
    pk: Any,
    *,
    options: Iterable[Any] = (),
    detail: str | None = None,
) -> M: ...
@overload
async def get_or_404(
    session: AsyncSession,
    target: AnySelect,
    pk: None = None,
    *,
    options: Iterable[Any] = (),
    detail: str | None = None,
) -> Any: ...
async def get_or_404(
    session: AsyncSession,
    target: type[M] | AnySelect,
    pk: Any = None,
    *,
    options: Iterable[Any] = (),
    detail: str | None = None,
) -> Any:
    """The row with primary key ``pk`` (or the one row ``target`` selects), else a 404::

        article = await get_or_404(session, Article, article_id)
        article = await get_or_404(session, select(Article).where(Article.slug == slug))
        return await get_or_404(session, Article.Read, article_id)  # no ORM object

    ``options`` are loader options (``selectinload(Article.author)``). A schema
    (``Article.Read``) reads the row straight into it with :func:`~plait.db.read_one`:
    for a handler that only answers the row, the cheapest read.
    """
    if isinstance(target, type) and issubclass(target, msgspec.Struct):
        row = await read_one(session, target, pk)
        if row is None:
            name = (model_of(target) or target).__name__
            raise HTTPException(404, detail or f"{name} {pk!r} not found")
        return row
    if isinstance(target, sa.Select):
        statement = target.options(*options) if options else target
        found = (await session.scalars(statement.limit(2))).all()
        if len(found) > 1:
            raise LookupError("get_or_404 expected at most one row, the query found several")
        obj = found[0] if found else None
        name = "Row"
    else:
        entity: Any = target
        obj = await session.get(entity, pk, options=list(options))
        name = f"{target.__name__} {pk!r}"
    if obj is None:
        raise HTTPException(404, detail or f"{name} not found")
    return obj


def _counting(target: Any, where: tuple[Any, ...]) -> AnySelect:
    if isinstance(target, sa.Select):
        if where:
            target = target.where(*where)
        return sa.select(sa.func.count()).select_from(target.order_by(None).subquery())
    return sa.select(sa.func.count()).select_from(target).where(*where)


async def count(session: AsyncSession, target: type | AnySelect, *where: Any) -> int:
    """How many rows a model has (matching ``where``), or a ``select()`` returns::

    await count(session, Article, Article.published.is_(True))
    """
    return int(await session.scalar(_counting(target, where)) or 0)


async def exists(session: AsyncSession, target: type | AnySelect, *where: Any) -> bool:
    """Whether any row matches, without counting them all::

    if await exists(session, User, User.email == email): ...
    """
    if isinstance(target, sa.Select):
        query = target.where(*where) if where else target
    else:
        query = sa.select(sa.literal(1)).select_from(target).where(*where)
    return bool(await session.scalar(sa.select(sa.exists(query.order_by(None)))))


async def bulk_create(
    session: AsyncSession,
    model: type[M],
    rows: Iterable[msgspec.Struct | Mapping[str, Any] | M],
) -> list[M]:
    """Add many rows at once (one batched INSERT per table) and return them with their keys::

    articles = await bulk_create(session, Article, [Article.Create(title="a", body="…"), …])
    """
    build: Any = model
    objects: list[M] = [row if isinstance(row, model) else build(row) for row in rows]
    session.add_all(objects)
    await session.flush()
    return objects


async def bulk_update(
    session: AsyncSession,
    model: type,
    rows: Iterable[msgspec.Struct | Mapping[str, Any]],
    *,
    fields: Collection[str] | None = None,
) -> None:
    """Write many rows at once by primary key: one batched UPDATE per set of fields::

        worlds = [await get_or_404(session, World.Read, pk) for pk in ids]  # rows, not objects
        for world in worlds:
            world.randomNumber = random_number()
        await bulk_update(session, World, worlds)

    Each row names its primary key and the values to write: a Struct (a model's ``Read`` or
    ``Update``; ``UNSET`` fields and fields that are not columns are left alone) or a
    mapping of attribute names; ``fields`` (as Django's ``bulk_update``) writes only those
    columns, so a concurrent change to another column is kept. The rows are written in
    primary-key order, so concurrent transactions updating the same rows lock them in one
    order instead of deadlocking.
    ORM objects of the session are not refreshed: for those, set their attributes instead
    and let the request's commit write them.

    PERF: rows read with :func:`get_or_404` or :func:`~plait.db.read_all` and written this
    way skip the ORM's identity map and change tracking; on PostgreSQL the UPDATEs go out
    as one asyncpg ``executemany``. TechEmpower's 20 updates cost about half the CPU time
    of loading and changing 20 ORM objects (``bench/db_probe.py``).
    """
    mapper: sa.orm.Mapper[Any] = sa.inspect(model)
    keys = [mapper.get_property_by_column(column).key for column in mapper.primary_key]
    columns = {prop.key for prop in mapper.column_attrs}
    if fields is not None:
        unknown = set(fields) - columns
        if unknown:
            raise ValueError(f"bulk_update({model.__name__}): no columns {sorted(unknown)}")
        columns = {*fields, *keys}
    values: list[dict[str, Any]] = []
    for row in rows:
        if isinstance(row, msgspec.Struct):
            found = {
                name: value
                for name in row.__struct_fields__
                if name in columns and (value := getattr(row, name)) is not msgspec.UNSET
            }
        elif fields is None:
            found = dict(row)  # a name that is no column is SQLAlchemy's error
        else:
            found = {name: value for name, value in row.items() if name in columns}
        if any(key not in found for key in keys):
            raise ValueError(f"bulk_update({model.__name__}): a row without its key {keys}")
        values.append(found)
    if values:
        values.sort(key=lambda value: [value[key] for key in keys])
        await session.execute(sa.update(model), values)
