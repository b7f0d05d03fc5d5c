"""Bulk actions (delete, and the ModelAdmin's own), what a delete takes with it, CSV export."""

from __future__ import annotations

import csv
import inspect
import io
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa

from plait.admin._display import format_value
from plait.admin._options import Action, ModelAdmin, humanize, object_label

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from plait import Request

__all__ = ["BulkAction", "action", "actions_of", "csv_rows", "related_rows"]

F = TypeVar("F", bound=Callable[..., Any])
_SHOWN = 20
"""Related rows listed per model on a delete confirmation (then "and N more")."""
_INJECTION = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class BulkAction:
    """A changelist action: ``func(request, session, rows)`` on the ticked rows."""

    name: str
    description: str
    permission: Action
    func: Callable[..., Any]

    async def run(self, request: Request, session: AsyncSession, rows: list[Any]) -> str | None:
        result = self.func(request, session, rows)
        if inspect.isawaitable(result):
            result = await result
        return None if result is None else str(result)


def action(*, description: str | None = None, permission: Action = "change") -> Callable[[F], F]:
    """Mark a function as a bulk action of a ModelAdmin's changelist::

        @action(description="Mark as published")
        async def publish(request, session, rows):
            for post in rows:
                post.published = True
            return f"{len(rows)} posts published."

        class PostAdmin(ModelAdmin):
            actions = (publish,)

    It gets the request, the session (the admin commits after it, with a log entry per
    row) and the ticked rows; what it returns is the message shown. Users need
    ``permission`` (``change`` by default) on the model to see and run it.
    """

    def decorate(func: F) -> F:
        func.short_description = description  # type: ignore[attr-defined]
        func.allowed_permission = permission  # type: ignore[attr-defined]
        return func

    return decorate


def actions_of(model_admin: ModelAdmin) -> dict[str, BulkAction]:
    """The ModelAdmin's own actions by name (``delete_selected`` is built in)."""
    found: dict[str, BulkAction] = {}
    for entry in model_admin.actions:
        func = getattr(model_admin, entry) if isinstance(entry, str) else entry
        name = entry if isinstance(entry, str) else getattr(func, "__name__", "action")
        described = getattr(func, "short_description", None) or humanize(name)
        permission: Action = getattr(func, "allowed_permission", "change")
        found[name] = BulkAction(name, str(described), permission, func)
    return found


async def related_rows(
    session: AsyncSession, model_admin: ModelAdmin, objects: Sequence[Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows that refer to ``objects`` through a foreign key: ``(going, protected)``.

    ``going`` are deleted with them (``ON DELETE CASCADE``, or an ORM cascade), ``protected``
    would stop the delete (a plain foreign key); ``SET NULL`` ones are left out.
    """
    keys = [getattr(obj, model_admin.pk_name) for obj in objects]
    mapper: Any = sa.inspect(model_admin.model)
    table = mapper.local_table
    orm_cascades = {
        rel.mapper.class_
        for rel in mapper.relationships
        if rel.cascade.delete and not rel.secondary
    }
    going: list[dict[str, Any]] = []
    protected: list[dict[str, Any]] = []
    for other in mapper.registry.mappers:
        for column in other.local_table.columns:
            for foreign_key in column.foreign_keys:
                if foreign_key.column.table is not table:
                    continue
                ondelete = (foreign_key.ondelete or "").upper()
                if ondelete in ("SET NULL", "SET DEFAULT"):
                    continue
                query = sa.select(other.class_).where(column.in_(keys))
                count = await session.scalar(
                    sa.select(sa.func.count()).select_from(query.subquery())
                )
                if not count:
                    continue
                rows: Any = await session.scalars(query.limit(_SHOWN))
                entry = {
                    "model": humanize(other.class_.__name__),
                    "rows": [object_label(row) for row in rows],
                    "more": max(0, int(count) - _SHOWN),
                }
                cascade = ondelete == "CASCADE" or other.class_ in orm_cascades
                (going if cascade else protected).append(entry)
    return going, protected


def _cell(value: Any) -> str:
    text = format_value(value) if value is not None else ""
    # A spreadsheet runs a cell that starts like a formula (OWASP's CSV injection advice).
    return "'" + text if text.startswith(_INJECTION) else text


async def csv_rows(
    session: AsyncSession, model_admin: ModelAdmin, query: sa.Select[Any]
) -> AsyncIterator[bytes]:
    """The rows of ``query`` as CSV, the readable columns, streamed 1,000 rows at a time."""
    names = [name for name in model_admin.columns if name in model_admin.readable]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(names)
    yield buffer.getvalue().encode()
    stream = await session.stream_scalars(query.execution_options(yield_per=1000))
    async for partition in stream.partitions(1000):
        buffer.seek(0)
        buffer.truncate()
        for obj in partition:
            writer.writerow([_cell(getattr(obj, name)) for name in names])
        yield buffer.getvalue().encode()
