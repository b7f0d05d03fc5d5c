"""What the admin's views share: rows by key, a form's values, choices and messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from plait.admin._fields import KEYS, FormField, format_value, input_value
from plait.admin._inlines import InlineRows, apply_writes
from plait.admin._options import ModelAdmin, humanize, object_label
from plait.admin._queries import column_value, load_choices

__all__ = [
    "bound_fields",
    "default_value",
    "deleted_text",
    "field_choices",
    "get_many",
    "get_object",
    "inline_errors",
    "inline_writer",
    "non_field_errors",
    "readonly_values",
    "saved_text",
    "submitted_values",
]


def inline_errors(inlines: list[InlineRows], errors: dict[str, str]) -> None:
    for state in inlines:
        if state.errors:
            title = str(state.inline.admin.label_plural)
            errors.setdefault("__all__", f"Please correct the errors in the {title} below.")


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


async def field_choices(session: AsyncSession, fields: list[FormField]) -> dict[str, list[Any]]:
    """The options of the fields that list rows: foreign keys and many-to-many fields."""
    return {
        f.name: await load_choices(session, f.related, f.related_key)
        for f in fields
        if f.related is not None and f.related_key is not None
    }


def default_value(model_admin: ModelAdmin, form_field: FormField) -> str:
    if form_field.name not in model_admin.columns:
        return ""
    default = model_admin.columns[form_field.name].default
    arg = getattr(default, "arg", None)
    if default is None or not getattr(default, "is_scalar", False):
        return ""
    return input_value(form_field, arg)


def submitted_values(fields: list[FormField], form: Mapping[str, Any]) -> dict[str, str]:
    """What was posted, as typed (an invalid form shows it back, never loses it)."""
    values = {}
    for f in fields:
        posted = form.get(f.name, "")
        if f.widget == "checkbox":
            values[f.name] = "true" if f.name in form else "false"
        elif f.many:
            getlist = getattr(form, "getlist", None)
            chosen = getlist(f.name) if getlist is not None else []
            values[f.name] = KEYS.join(v for v in chosen if isinstance(v, str))
        else:
            values[f.name] = "" if f.widget == "password" or not isinstance(posted, str) else posted
    return values


def bound_fields(
    fields: list[FormField],
    values: Mapping[str, str],
    errors: Mapping[str, str],
    choices: Mapping[str, list[tuple[str, str]]],
) -> list[dict[str, Any]]:
    """Each field with its value, error and options: what the form template shows."""
    bound = []
    for f in fields:
        options = list(choices.get(f.name) or f.choices)
        blank = f.nullable or not values.get(f.name)  # nothing chosen yet: say so
        if f.widget == "select" and blank and all(key != "" for key, _ in options):
            options.insert(0, ("", "---------"))
        bound.append(
            {
                "field": f,
                "value": values.get(f.name, "").split(KEYS) if f.many else values.get(f.name, ""),
                "error": errors.get(f.name),
                "options": options,
            }
        )
    return bound


def non_field_errors(fields: list[FormField], errors: Mapping[str, str]) -> list[str]:
    names = {f.name for f in fields}
    return [message for key, message in errors.items() if key not in names]


def readonly_values(
    model_admin: ModelAdmin, fields: list[FormField], obj: Any
) -> list[tuple[str, str]]:
    editable = {f.name for f in fields}
    shown = model_admin.readable
    return [
        (humanize(name), format_value(getattr(obj, name)))
        for name in model_admin.columns
        if name not in editable and name not in model_admin.exclude and name in shown
    ]
