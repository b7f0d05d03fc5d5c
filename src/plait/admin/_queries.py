"""The changelist's query (search, filters, ordering, one page) and foreign-key choices."""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from plait.admin._dates import (
    DATE_CHOICES,
    DateHierarchy,
    date_range,
    hierarchy_clause,
    hierarchy_params,
    is_date,
    load_hierarchy,
)
from plait.admin._display import format_value
from plait.admin._keyset import CURSORS, Cursor, Keyset, decode_key, encode_key, keyset_of, seek
from plait.admin._options import ModelAdmin, humanize, object_label, related_model
from plait.db import model_schema

__all__ = [
    "MAX_SEARCH_TERMS",
    "ChangeList",
    "Filter",
    "column_value",
    "estimate_rows",
    "filtered",
    "load_changelist",
    "load_choices",
    "load_dates",
    "load_filters",
    "model_value",
    "order_entries",
    "ordered",
    "related_labels",
    "sortable",
]

MAX_SEARCH_TERMS = 10
"""Words of a search beyond this many are ignored (each one adds a clause)."""
_DISTINCT_LIMIT = 100


@dataclass
class Filter:
    """One ``list_filter`` column: its title, query parameter and choices."""

    name: str
    title: str
    param: str
    choices: list[tuple[str, str]]
    """``(value, label)``; the value goes in ``?<param>=<value>``."""
    selected: str | None


@dataclass
class ChangeList:
    """One page of a changelist."""

    objects: list[Any]
    count: int
    """Rows matching the search and filters (on every page)."""
    total: int
    """Rows in the table."""
    page: int
    pages: int
    order: str
    """The column sorted on, ``-`` first when descending."""
    approximate: bool = False
    """``count`` is PostgreSQL's estimate, or a count that stopped at the limit."""
    limit: int | None = None
    """The count's limit, when it stopped there (``count`` is then ``limit + 1``)."""
    keyset: bool = False
    """The next and previous pages are found by a key (``after``/``before``), so page
    links beyond a cheap offset are left out."""
    previous_key: str | None = None
    """The ``before`` key of the previous page (its first row's key)."""
    next_key: str | None = None
    """The ``after`` key of the next page (this page's last row's key)."""

    @property
    def count_text(self) -> str:
        """``1234``, ``about 1000000`` (an estimate) or ``more than 100000``."""
        if self.limit is not None:
            return f"more than {self.limit}"
        return f"about {self.count}" if self.approximate else str(self.count)


def sortable(admin: ModelAdmin) -> list[str]:
    """The ``list_display`` entries the changelist can sort on (columns)."""
    return [e for e in admin.list_display if isinstance(e, str) and e in admin.columns]


def column_value(admin: ModelAdmin, name: str, text: str) -> Any:
    """``text`` (from a URL or a form) as a value of column ``name``, checked as the API checks
    it, bounds included (an out-of-range key is no row, not a database error); None if not."""
    return model_value(admin.model, name, text)


def model_value(model: type, name: str, text: str) -> Any:
    """``text`` as a value of ``model``'s column ``name`` (see :func:`column_value`)."""
    read = model_schema(model, "read")
    field = next((f for f in msgspec.structs.fields(read) if f.name == name), None)
    try:
        column: Any = sa.inspect(model).columns[name]
        target = field.type if field is not None else column.type.python_type
        return msgspec.convert(text, target, strict=False)
    except (msgspec.ValidationError, TypeError, NotImplementedError, KeyError):
        return None


def _search(admin: ModelAdmin, query: str) -> sa.ColumnElement[bool] | None:
    terms = query.split()[:MAX_SEARCH_TERMS]
    if not terms or not admin.search_fields:
        return None
    clauses = []
    for term in terms:
        matches = []
        for entry in admin.search_fields:
            name = entry.removeprefix("^")
            column: Any = getattr(admin.model, name)
            if not isinstance(admin.columns[name].type, sa.String):
                column = sa.cast(column, sa.String)
            if entry.startswith("^"):
                matches.append(column.startswith(term, autoescape=True))
            else:
                matches.append(column.icontains(term, autoescape=True))
        clauses.append(sa.or_(*matches))
    return sa.and_(*clauses)


async def load_filters(
    admin: ModelAdmin, session: AsyncSession, params: Mapping[str, str]
) -> list[Filter]:
    """The sidebar's filters with their choices; ``params`` says which are selected."""
    filters = []
    for name in admin.list_filter:
        column = admin.columns[name]
        param = f"{name}__exact"
        related = related_model(column, admin.model)
        choices: list[tuple[str, str]]
        if related is not None:
            choices = await load_choices(session, *related)
        elif isinstance(column.type, sa.Boolean):
            choices = [("true", "Yes"), ("false", "No")]
        elif isinstance(column.type, sa.Enum) and column.type.enum_class is not None:
            members: list[enum.Enum] = list(column.type.enum_class)
            choices = [(str(m.value), humanize(m.name)) for m in members]
        elif is_date(column):
            choices = list(DATE_CHOICES)  # ranges (below), not the distinct values
        else:
            attribute = getattr(admin.model, name)
            query = sa.select(attribute).where(attribute.is_not(None)).distinct()
            rows: Any = await session.scalars(query.order_by(attribute).limit(_DISTINCT_LIMIT))
            choices = [(_param_text(value), format_value(value)) for value in rows]
        label = humanize(name.removesuffix("_id") if related else name)
        if is_date(column):
            param = f"{name}__range"
            if column.nullable:
                choices += [("notnull", "Has date"), ("null", "No date")]
        filters.append(Filter(name, label, param, choices, params.get(param)))
        if column.nullable and not is_date(column) and not isinstance(column.type, sa.Boolean):
            # Django's EmptyFieldListFilter: with a value, or without.
            param = f"{name}__isnull"
            empty = [("0", "Has value"), ("1", "Empty")]
            filters.append(Filter(name, f"{label} set", param, empty, params.get(param)))
    return filters


def _param_text(value: Any) -> str:
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _filter_clauses(admin: ModelAdmin, params: Mapping[str, str]) -> list[Any]:
    clauses = []
    for name in admin.list_filter:
        attribute = getattr(admin.model, name)
        empty = params.get(f"{name}__isnull")
        if empty in ("0", "1"):
            clauses.append(attribute.is_(None) if empty == "1" else attribute.is_not(None))
        chosen = params.get(f"{name}__range")
        if chosen in ("null", "notnull"):
            clauses.append(attribute.is_(None) if chosen == "null" else attribute.is_not(None))
        elif chosen is not None and (bounds := date_range(admin.columns[name], chosen)):
            clauses.append(sa.and_(attribute >= bounds[0], attribute < bounds[1]))
        text = params.get(f"{name}__exact")
        if text is None:
            continue
        value = column_value(admin, name, text)
        if value is not None:  # else a stale or hand-made link: shown unfiltered
            clauses.append(getattr(admin.model, name) == value)
    return clauses


def _unique(admin: ModelAdmin, name: str) -> bool:
    """Column ``name`` is NOT NULL and unique: it orders the rows alone."""
    column = admin.columns[name]
    if column.primary_key or (column.unique and not column.nullable):
        return True
    if column.nullable:
        return False
    table = column.table
    return any(
        list(constraint.columns) == [column]
        for constraint in [*table.constraints, *(i for i in table.indexes if i.unique)]
        if isinstance(constraint, sa.UniqueConstraint | sa.Index)
    )


def order_entries(admin: ModelAdmin, requested: str | None) -> list[str]:
    """The changelist's order (``o``, else the ModelAdmin's) as ``["-title", "-id"]``.

    The primary key comes last, in the first column's direction, unless a unique column
    already orders the rows: a stable order, and a keyset (see ``_keyset``) when it fits.
    """
    if requested and requested.lstrip("-") in sortable(admin):
        entries = [requested]
    else:
        entries = list(admin.ordering) or [f"-{admin.pk_name}"]
    if not any(_unique(admin, entry.lstrip("-")) for entry in entries):
        entries.append(("-" if entries[0].startswith("-") else "") + admin.pk_name)
    return entries


def _clauses(admin: ModelAdmin, entries: Sequence[str], reverse: bool = False) -> list[Any]:
    clauses = []
    for entry in entries:
        attribute = getattr(admin.model, entry.lstrip("-"))
        descending = entry.startswith("-") != reverse
        clauses.append(attribute.desc() if descending else attribute.asc())
    return clauses


def filtered(admin: ModelAdmin, params: Mapping[str, str]) -> tuple[sa.Select[Any], Any]:
    """The rows the search (``q``), filters and date hierarchy of ``params`` select, and the
    search clause."""
    query: sa.Select[Any] = sa.select(admin.model)
    search = _search(admin, params.get("q", ""))
    if search is not None:
        query = query.where(search)
    for clause in _filter_clauses(admin, params):
        query = query.where(clause)
    if (dates := hierarchy_clause(admin, params)) is not None:
        query = query.where(dates)
    return query, search


async def load_dates(
    admin: ModelAdmin, session: AsyncSession, params: Mapping[str, str]
) -> DateHierarchy | None:
    """The date hierarchy over the rows the search and filters select (None without one)."""
    if admin.date_hierarchy is None:
        return None
    own = hierarchy_params(admin.date_hierarchy, ())
    query, _ = filtered(admin, {k: v for k, v in params.items() if k not in own})
    return await load_hierarchy(admin, session, query, params)


def ordered(admin: ModelAdmin, query: sa.Select[Any], requested: str | None) -> sa.Select[Any]:
    """``query`` in the changelist's order (``o``)."""
    return query.order_by(*_clauses(admin, order_entries(admin, requested)))


async def load_changelist(
    admin: ModelAdmin, session: AsyncSession, params: Mapping[str, str]
) -> ChangeList:
    """The page of rows ``params`` asks for (``q``, ``o``, ``p``, ``<column>__exact``, and
    ``after``/``before``: a key of the next or previous page).

    Big tables stay fast: above ``admin.count_limit`` rows an unfiltered list shows
    PostgreSQL's estimate instead of counting them all, and a filtered count stops there
    ("more than …"); the next and previous pages are found from a row's key (no offset) when
    the order allows it; a page in the second half is read from the end, the last one with no
    offset at all.
    """
    query, search = filtered(admin, params)
    count, approximate, capped, total = await _counts(admin, session, query, search)
    pages = max(1, math.ceil(count / admin.per_page))
    try:
        page = min(max(1, int(params.get("p", "1"))), pages)
    except ValueError:
        page = pages if params.get("p") == "last" else 1
    entries = order_entries(admin, params.get("o"))
    keyset = keyset_of(admin, entries, session.get_bind().dialect.name)
    cursor = _cursor(admin, keyset, params) if keyset is not None else None
    objects: list[Any] | None = None
    if keyset is not None and cursor is not None:
        numbers = (params.get("p"), page, pages)
        objects, page, pages = await _seek_page(admin, session, query, keyset, cursor, numbers)
    if objects is None:
        at = (page, pages, count, approximate)
        objects = await _numbered_page(admin, session, query, entries, at)
    changelist = ChangeList(objects, count, total, page, pages, entries[0], approximate, capped)
    if keyset is not None and objects:
        changelist.keyset = True
        if page > 1:
            changelist.previous_key = encode_key(keyset, objects[0])
        if page < pages:
            changelist.next_key = encode_key(keyset, objects[-1])
    return changelist


async def _counts(
    admin: ModelAdmin, session: AsyncSession, query: sa.Select[Any], search: Any
) -> tuple[int, bool, int | None, int]:
    """The rows ``query`` selects (or an estimate, or a capped count: then whether it is
    approximate and its cap) and the rows of the table."""
    limit = admin.count_limit
    unfiltered = search is None and query.whereclause is None
    estimate = await _estimate(session, admin) if unfiltered else None
    capped = None
    if estimate is not None and estimate > limit:
        count, approximate = estimate, True
    else:
        count = await _capped_count(session, query, limit)
        approximate = count > limit
        capped = limit if approximate else None
    total = count
    if not unfiltered:
        total = await _estimate(session, admin) or await _capped_count(
            session, sa.select(admin.model), limit
        )
    return count, approximate, capped, total


def _cursor(admin: ModelAdmin, keyset: Keyset, params: Mapping[str, str]) -> Cursor | None:
    """The ``after``/``before`` key of ``params``, converted as the API converts the columns'
    values (None when there is none, or it does not convert: a stale or hand-made link)."""
    for direction in CURSORS:
        text = params.get(direction)
        texts = decode_key(keyset, text) if text is not None else None
        if texts is None:
            continue
        values = tuple(column_value(admin, n, t) for n, t in zip(keyset.names, texts, strict=True))
        if all(value is not None for value in values):
            return Cursor("after" if direction == "after" else "before", values)
    return None


async def _seek_page(
    admin: ModelAdmin,
    session: AsyncSession,
    query: sa.Select[Any],
    keyset: Keyset,
    cursor: Cursor,
    numbers: tuple[str | None, int, int],
) -> tuple[list[Any] | None, int, int]:
    """The page past ``cursor``, its number and the page count; None when the key says
    nothing useful (no row past it: the page is then found by its number).

    ``numbers`` are the page the link named (``p``), the page it was clamped to, and the
    page count. The number is the link's (a label: the rows come from the key), so a row
    added or deleted meanwhile shifts the rows, not the numbering.
    """
    size = admin.per_page
    rows = list(await session.scalars(seek(admin, keyset, query, cursor).limit(size + 1)))
    more, rows = len(rows) > size, rows[:size]
    named, page, pages = numbers
    if named is not None and named.isdigit():
        page = int(named)
    if cursor.direction == "before":
        if not more:  # the start of the list
            return (rows[::-1], 1, pages) if len(rows) == size else (None, 1, pages)
        return rows[::-1], max(page, 2), max(pages, page + 1, 3)
    if not rows:
        return None, page, pages
    page = max(page, 2)
    return rows, page, max(pages, page + 1) if more else page


async def _numbered_page(
    admin: ModelAdmin,
    session: AsyncSession,
    query: sa.Select[Any],
    entries: Sequence[str],
    at: tuple[int, int, int, bool],
) -> list[Any]:
    """A page by its number (``at``: page, pages, count, approximate): an offset from the
    start, or from the end."""
    page, pages, count, approximate = at
    if page > 1 and page * 2 > pages + 1 and (page == pages or not approximate):
        # PERF: read from the end: the last page costs what the first does.
        from_end = 0 if page == pages else count - page * admin.per_page
        size = count - (page - 1) * admin.per_page if page == pages and not approximate else None
        query = query.order_by(*_clauses(admin, entries, reverse=True)).offset(max(0, from_end))
        rows = list(await session.scalars(query.limit(min(size or admin.per_page, admin.per_page))))
        return rows[::-1]
    query = query.order_by(*_clauses(admin, entries)).offset((page - 1) * admin.per_page)
    return list(await session.scalars(query.limit(admin.per_page)))


async def _capped_count(session: AsyncSession, query: sa.Select[Any], limit: int) -> int:
    """How many rows ``query`` selects, counting no further than ``limit + 1``."""
    ones = query.with_only_columns(sa.literal(1), maintain_column_froms=True)
    capped = ones.limit(limit + 1).subquery()
    return int(await session.scalar(sa.select(sa.func.count()).select_from(capped)) or 0)


async def estimate_rows(session: AsyncSession, admin: ModelAdmin, limit: int) -> int:
    """About how many rows ``admin``'s table holds: PostgreSQL's estimate, else a count that
    stops after ``limit + 1``."""
    estimate = await _estimate(session, admin)
    if estimate is not None:
        return estimate
    return await _capped_count(session, sa.select(admin.model), limit)


async def _estimate(session: AsyncSession, admin: ModelAdmin) -> int | None:
    """PostgreSQL's estimate of the table's rows (``pg_class.reltuples``), if it has one."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    table: Any = sa.inspect(admin.model).local_table
    name = f"{table.schema}.{table.name}" if table.schema else table.name
    query = sa.text("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(:name)")
    estimate = await session.scalar(query, {"name": name})
    return int(estimate) if estimate is not None and estimate >= 0 else None


async def load_choices(session: AsyncSession, model: type, key: str) -> list[tuple[str, str]]:
    """Every row of ``model`` as ``(str(row.<key>), label)``: a foreign key's options."""
    rows: Any = await session.scalars(sa.select(model).order_by(getattr(model, key)))
    return [(str(getattr(row, key)), object_label(row)) for row in rows]


async def related_labels(
    admin: ModelAdmin, session: AsyncSession, objects: list[Any]
) -> dict[str, dict[Any, str]]:
    """For each foreign key shown in the changelist, its values' related rows' labels.

    One query per foreign key for the whole page (not one per row).
    """
    labels: dict[str, dict[Any, str]] = {}
    for name in sortable(admin):
        related = related_model(admin.columns[name], admin.model)
        if related is None:
            continue
        model, key = related
        values = {getattr(obj, name) for obj in objects} - {None}
        if not values:
            continue
        query: sa.Select[Any] = sa.select(model).where(getattr(model, key).in_(values))
        rows: Any = await session.scalars(query)
        labels[name] = {getattr(row, key): object_label(row) for row in rows}
    return labels
