"""The admin's history: a log entry for every add, change and delete made through it.

Each entry says who, when, which object, and for a change which fields went from what to
what (Django's ``LogEntry``, with the values). A write-only column's values are never
written down, only that it changed. Entries are written in the transaction of the change.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from plait.admin._display import format_value
from plait.admin._options import ModelAdmin, humanize, object_label
from plait.db import Model, SchemaOptions, UTCDateTime

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from plait import Request

__all__ = ["HIDDEN", "LogEntry", "changes", "log", "recent", "snapshot"]

HIDDEN = "(hidden)"
_LABEL = 200


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class LogEntry(Model):
    """One add, change or delete made in the admin (table ``admin_log``)."""

    __tablename__ = "admin_log"
    __table_args__ = (sa.Index("admin_log_object", "model", "object_id"),)
    __schema_options__ = SchemaOptions(read_only=("action_time",))

    id: Mapped[int] = mapped_column(primary_key=True)
    action_time: Mapped[datetime.datetime] = mapped_column(UTCDateTime, default=_now, index=True)
    user_id: Mapped[int | None] = mapped_column(index=True)
    """The user's primary key (no foreign key: the admin works without plait.auth)."""
    username: Mapped[str] = mapped_column(String(150), default="")
    model: Mapped[str] = mapped_column(String(100))
    """The ModelAdmin's URL segment (``post``)."""
    object_id: Mapped[str] = mapped_column(String(100))
    object_repr: Mapped[str] = mapped_column(String(_LABEL))
    action: Mapped[str] = mapped_column(String(10))
    """``add``, ``change`` or ``delete`` (or a bulk action's name)."""
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """``[{"field": "Title", "old": "…", "new": "…"}]``; no values for a write-only one."""

    def __str__(self) -> str:
        return f"{self.action} {self.model} {self.object_repr}"

    @property
    def message(self) -> str:
        """What the entry says, for people: ``Changed title, body.``"""
        if self.action == "add":
            return "Added."
        if self.action == "delete":
            return "Deleted."
        if self.action != "change":
            return f"{humanize(self.action)}."
        if not self.changes:
            return "No fields changed."
        return "Changed " + ", ".join(str(c["field"]).lower() for c in self.changes) + "."


def snapshot(model_admin: ModelAdmin, obj: Any, names: list[str]) -> dict[str, Any]:
    # ``obj`` must have its many-to-many relationships loaded (the change view refreshes them).
    """The values of ``names`` on ``obj`` now (many-to-many: the related rows' labels)."""
    values: dict[str, Any] = {}
    for name in names:
        value = getattr(obj, name, None)
        if isinstance(value, list):
            value = sorted(object_label(row) for row in value)
        values[name] = value
    return values


def changes(
    model_admin: ModelAdmin, before: dict[str, Any], after: dict[str, Any]
) -> list[dict[str, Any]]:
    """The fields whose value differs, old → new (write-only ones without values)."""
    found = []
    for name, old in before.items():
        new = after.get(name)
        if old == new or _text(old) == _text(new):
            continue
        label = humanize(
            name.removesuffix("_id")
            if name in model_admin.columns and model_admin.columns[name].foreign_keys
            else name
        )
        if name in model_admin.columns and name not in model_admin.readable:
            found.append({"field": label, "old": HIDDEN, "new": HIDDEN})
        else:
            found.append({"field": label, "old": _text(old), "new": _text(new)})
    return found


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    return format_value(value)


def log(
    request: Request,
    model_admin: ModelAdmin,
    obj: Any,
    action: str,
    found: list[dict[str, Any]] | None = None,
) -> LogEntry:
    """A log entry of ``action`` on ``obj`` by the request's user (add it to the session)."""
    user = request.user
    user_id = getattr(user, "id", None)
    return LogEntry(
        user_id=user_id if isinstance(user_id, int) else None,
        username=str(getattr(user, "username", "") or "")[:150],
        model=model_admin.slug,
        object_id=str(getattr(obj, model_admin.pk_name))[:100],
        object_repr=object_label(obj)[:_LABEL],
        action=action,
        changes=found or [],
    )


async def recent(
    session: AsyncSession,
    *,
    models: list[str],
    object_id: str | None = None,
    user: Any = None,
    limit: int = 10,
) -> list[LogEntry]:
    """The newest entries about ``models`` (of one object, or made by ``user``)."""
    if not models:
        return []
    query = sa.select(LogEntry).where(LogEntry.model.in_(models))
    if object_id is not None:
        query = query.where(LogEntry.object_id == object_id)
    if user is not None:
        user_id = getattr(user, "id", None)
        if isinstance(user_id, int):
            query = query.where(LogEntry.user_id == user_id)
        else:
            query = query.where(LogEntry.username == str(getattr(user, "username", "")))
    query = query.order_by(LogEntry.action_time.desc(), LogEntry.id.desc()).limit(limit)
    return list(await session.scalars(query))
