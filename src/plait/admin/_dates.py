"""Dates in the changelist: the date filter's ranges and the date hierarchy (Django's
``date_hierarchy``: years, then months, then days, as links above the list).

Every range is ``start <= column < end``, which an index on the column serves; the hierarchy
asks which years, months or days hold rows with one query of ``EXISTS`` probes (one per
candidate, each stopping at its first row), never a ``GROUP BY`` over the whole table.
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from plait.admin._options import ModelAdmin

__all__ = [
    "DATE_CHOICES",
    "MAX_YEARS",
    "DateHierarchy",
    "date_range",
    "hierarchy_clause",
    "hierarchy_params",
    "is_date",
    "load_hierarchy",
]

DATE_CHOICES = (
    ("today", "Today"),
    ("past7", "Past 7 days"),
    ("month", "This month"),
    ("year", "This year"),
)
"""The date filter's ranges (Django's ``DateFieldListFilter``), in UTC."""
MAX_YEARS = 100
"""The hierarchy lists at most the latest this many years that hold rows."""


def is_date(column: sa.Column[Any]) -> bool:
    """A ``Date`` or ``DateTime`` column (a type decorator over one too)."""
    type_ = column.type
    if isinstance(type_, sa.types.TypeDecorator):
        type_ = type_.impl_instance
    return isinstance(type_, sa.Date | sa.DateTime)


def _typed(column: sa.Column[Any], start: datetime.datetime, end: datetime.datetime) -> Any:
    """``(start, end)`` (UTC) as the column stores them: dates, naive or aware datetimes."""
    type_ = column.type
    if isinstance(type_, sa.types.TypeDecorator):
        type_ = type_.impl_instance
    if not isinstance(type_, sa.DateTime):
        return start.date(), end.date()
    if not getattr(column.type, "timezone", False) and not isinstance(
        column.type, sa.types.TypeDecorator
    ):
        return start.replace(tzinfo=None), end.replace(tzinfo=None)
    return start, end


def date_range(column: sa.Column[Any], choice: str) -> tuple[Any, Any] | None:
    """``[start, end)`` of a date filter's choice, typed as the column stores it."""
    now = datetime.datetime.now(datetime.UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if choice == "today":
        start, end = today, today + datetime.timedelta(days=1)
    elif choice == "past7":
        start, end = today - datetime.timedelta(days=6), today + datetime.timedelta(days=1)
    elif choice == "month":
        start = today.replace(day=1)
        end = (start + datetime.timedelta(days=32)).replace(day=1)
    elif choice == "year":
        start, end = (
            today.replace(month=1, day=1),
            today.replace(year=today.year + 1, month=1, day=1),
        )
    else:
        return None
    bounds: tuple[Any, Any] = _typed(column, start, end)
    return bounds


# ---------------------------------------------------------------- the date hierarchy


@dataclass
class DateHierarchy:
    """The hierarchy's state: what is chosen, and the links to the next level down."""

    name: str
    chosen: tuple[int, ...]
    """``()``, ``(year,)``, ``(year, month)`` or ``(year, month, day)``."""
    choices: list[tuple[tuple[int, ...], str]] = field(default_factory=list)
    """The next level's values that hold rows, with their labels."""

    @property
    def back(self) -> tuple[tuple[int, ...], str] | None:
        """The level up and its label (``All dates``, ``2024``), None at the top."""
        if not self.chosen:
            return None
        up = self.chosen[:-1]
        return up, _label(up, full=True) if up else "All dates"

    @property
    def current(self) -> str | None:
        """The chosen day's label, shown when there is no level below."""
        return _label(self.chosen, full=True) if len(self.chosen) == 3 else None


def hierarchy_params(name: str, values: tuple[int, ...]) -> dict[str, str | None]:
    """The query parameters choosing ``values`` (the deeper ones removed)."""
    keys = (f"{name}__year", f"{name}__month", f"{name}__day")
    return {key: str(values[i]) if i < len(values) else None for i, key in enumerate(keys)}


def _chosen(name: str, params: Mapping[str, str]) -> tuple[int, ...]:
    """The valid prefix of ``<name>__year``, ``__month``, ``__day`` (a bad one stops it)."""
    chosen: list[int] = []
    for part, low, high in (("year", 1, 9998), ("month", 1, 12), ("day", 1, 31)):
        text = params.get(f"{name}__{part}", "")
        if not text.isdigit() or not low <= int(text) <= high:
            break
        chosen.append(int(text))
    if len(chosen) == 3 and chosen[2] > calendar.monthrange(chosen[0], chosen[1])[1]:
        chosen.pop()
    return tuple(chosen)


def _span(values: tuple[int, ...]) -> tuple[datetime.datetime, datetime.datetime]:
    """``[start, end)`` of a year, a month or a day, in UTC."""
    year, month, day = (*values, 1, 1)[:3]
    start = datetime.datetime(year, month, day, tzinfo=datetime.UTC)
    if len(values) == 1:
        return start, start.replace(year=year + 1)
    if len(values) == 2:
        return start, (start + datetime.timedelta(days=32)).replace(day=1)
    return start, start + datetime.timedelta(days=1)


def _label(values: tuple[int, ...], full: bool = False) -> str:
    """``2024``; ``March`` (or ``March 2024``); ``March 5`` (or ``March 5, 2024``)."""
    if len(values) == 1:
        return str(values[0])
    month = calendar.month_name[values[1]]
    if len(values) == 2:
        return f"{month} {values[0]}" if full else month
    return f"{month} {values[2]}, {values[0]}" if full else f"{month} {values[2]}"


def hierarchy_clause(admin: ModelAdmin, params: Mapping[str, str]) -> Any:
    """The chosen year, month or day as a range on the column (None: nothing chosen)."""
    name = admin.date_hierarchy
    if name is None or not (chosen := _chosen(name, params)):
        return None
    start, end = _typed(admin.columns[name], *_span(chosen))
    attribute = getattr(admin.model, name)
    return sa.and_(attribute >= start, attribute < end)


async def load_hierarchy(
    admin: ModelAdmin, session: AsyncSession, query: sa.Select[Any], params: Mapping[str, str]
) -> DateHierarchy | None:
    """The hierarchy over ``query`` (the changelist's rows without the hierarchy's own range).

    Years come from the column's smallest and largest value (two index look-ups), then one
    query asks which candidates hold a row.
    """
    name = admin.date_hierarchy
    if name is None:
        return None
    column = admin.columns[name]
    attribute = getattr(admin.model, name)
    chosen = _chosen(name, params)
    hierarchy = DateHierarchy(name, chosen)
    candidates: list[tuple[int, ...]]
    if not chosen:
        extremes = (sa.func.min(attribute), sa.func.max(attribute))
        bounds = query.with_only_columns(*extremes, maintain_column_froms=True)
        low, high = (await session.execute(bounds.order_by(None))).one()
        if low is None or high is None:
            return hierarchy
        first = max(low.year, high.year - MAX_YEARS + 1)
        candidates = [(year,) for year in range(first, high.year + 1)]
    elif len(chosen) == 1:
        candidates = [(*chosen, month) for month in range(1, 13)]
    elif len(chosen) == 2:
        days = calendar.monthrange(*chosen)[1]
        candidates = [(*chosen, day) for day in range(1, days + 1)]
    else:
        return hierarchy
    probes = []
    for values in candidates:
        start, end = _typed(column, *_span(values))
        probe = query.with_only_columns(sa.literal(1), maintain_column_froms=True)
        probes.append(probe.where(attribute >= start, attribute < end).exists())
    found = (await session.execute(sa.select(*probes))).one()
    hierarchy.choices = [(v, _label(v)) for v, hit in zip(candidates, found, strict=True) if hit]
    return hierarchy
