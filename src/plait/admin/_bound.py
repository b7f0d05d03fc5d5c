"""What the admin's views share: rows by key, a form's values, choices and messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from plait import forms
from plait.admin._display import format_value
from plait.admin._inlines import InlineRows, apply_writes
from plait.admin._options import ModelAdmin, humanize, object_label
from plait.admin._queries import column_value

__all__ = [
    "deleted_text",
    "get_many",
    "get_object",
    "inline_errors",
    "inline_writer",
    "readonly_values",
    "saved_text",
]


def inline_errors(inlines: list[InlineRows], form: forms.Form) -> None:
    """Say on the parent's form which of its inlines has errors (once)."""
    for state in inlines:
        if state.errors:
            title = str(state.inline.admin.label_plural)
            form.add_error(None, f"Please correct the errors in the {title} below.")
            return


def inline_writer(session: AsyncSession, inlines: list[InlineRows]) -> Any:
    """What ``save`` runs once the parent has its key: the inlines' writes."""

    async def write(parent: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for state in inlines:
            found += await apply_writes(session, state, parent)
        return found

    return write


def saved_text(model_admin: ModelAdmin, note: str, obj: Any) -> str:
    if obj is None:
        return f"The {model_admin.label} was {note} successfully."
    return f"The {model_admin.label} “{object_label(obj)}” was {note} successfully."


def deleted_text(model_admin: ModelAdmin, count: int) -> str:
    label = model_admin.label if count == 1 else model_admin.label_plural
    return f"Successfully deleted {count} {label}."


async def get_object(session: AsyncSession, model_admin: ModelAdmin, text: str) -> Any:
    """The row with primary key ``text``, or None."""
    key = column_value(model_admin, model_admin.pk_name, text)
    return None if key is None else await session.get(model_admin.model, key)


async def get_many(session: AsyncSession, model_admin: ModelAdmin, texts: list[str]) -> list[Any]:
    """The rows whose primary keys are among ``texts``, in key order."""
    keys = {
        key
        for text in texts
        if (key := column_value(model_admin, model_admin.pk_name, text)) is not None
    }
    if not keys:
        return []
    attribute = getattr(model_admin.model, model_admin.pk_name)
    query: sa.Select[Any] = sa.select(model_admin.model).where(attribute.in_(keys))
    return list(await session.scalars(query.order_by(attribute)))


def readonly_values(
    model_admin: ModelAdmin, editable: Mapping[str, Any], obj: Any
) -> list[tuple[str, str]]:
    """The readable columns the form does not edit, as text."""
    shown = model_admin.readable
    return [
        (humanize(name), format_value(getattr(obj, name)))
        for name in model_admin.columns
        if name not in editable and name not in model_admin.exclude and name in shown
    ]
