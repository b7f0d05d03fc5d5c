"""Saving a validated form: build or update the row, commit, and explain integrity errors."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from plait import Request
from plait.admin._forms import ModelForm
from plait.admin._history import HIDDEN, changes, log, snapshot
from plait.admin._options import ModelAdmin, humanize
from plait.db import apply, describe_integrity_error, model_schema, sqlstate

__all__ = ["NON_FIELD", "integrity_errors", "save"]


async def _direct_value(session: AsyncSession, spec: ModelForm, name: str, value: Any) -> Any:
    """A value set on the row as it is, or the related rows of a many-to-many's keys."""
    if name not in spec.many:
        return value
    target, key = spec.related[name]
    rows: Any = await session.scalars(sa.select(target).where(getattr(target, key).in_(value)))
    return list(rows)


NON_FIELD = "__all__"
"""The errors key of a message about the whole form (Django's name)."""

_DATA_ERROR = "The database refused one of these values (out of range or malformed)."
_PATH = re.compile(r" - at `\$\.(\w+)")


def integrity_errors(model_admin: ModelAdmin, exc: IntegrityError) -> dict[str, str]:
    """The form errors of an integrity error: a unique value next to its field."""
    violation = describe_integrity_error(exc)
    if violation.kind != "unique":
        if violation.kind == "foreign_key":
            return {NON_FIELD: "A related record does not exist (any more): choose another."}
        return {NON_FIELD: "The database refused these values (a constraint failed)."}
    columns = violation.fields
    names = [
        key for key, column in model_admin.columns.items() if column.name in columns
    ] or columns
    labels = " and ".join(humanize(name) for name in names)
    message = f"A {model_admin.label} with this {labels} already exists."
    if len(names) == 1:
        return {names[0]: message}
    return {NON_FIELD: message}


async def save(
    request: Request,
    session: AsyncSession,
    model_admin: ModelAdmin,
    obj: Any,
    raw: dict[str, Any],
    spec: ModelForm | None = None,
    history: bool = False,
    before_commit: Callable[[Any], Awaitable[list[dict[str, Any]]]] | None = None,
) -> tuple[Any, dict[str, str]]:
    """Validate ``raw`` (a form's cleaned values) with the model's Create (``obj`` None) or
    Update schema, save, commit.

    The fields of ``spec`` set directly (``extra_fields``, ``many_to_many``) and the
    ModelAdmin's virtual ones are taken out of ``raw`` first. Returns the saved object, or
    ``None`` and the errors to show on the form. With ``history``, a log entry of the
    change (the fields that changed, old -> new) is committed with it.
    """
    change = obj is not None
    names = list(spec.form.fields) if spec is not None else []
    virtual_names = spec.virtual if spec is not None else frozenset()
    tracked = [name for name in names if name not in virtual_names]
    before = snapshot(model_admin, obj, tracked) if change else dict.fromkeys(tracked)
    schema = model_schema(model_admin.model, "update" if change else "create")
    direct = {k: raw.pop(k) for k in list(raw) if spec is not None and k in spec.direct}
    virtual = {k: raw.pop(k) for k in list(raw) if k in virtual_names}
    try:
        data = msgspec.convert(raw, schema, strict=False)
    except msgspec.ValidationError as exc:  # the schema's own checks, past the form's
        match = _PATH.search(str(exc))
        key = match.group(1) if match and match.group(1) in raw else NON_FIELD
        return None, {key: str(exc).split(" - at `", 1)[0]}
    if change:
        apply(obj, data)
    else:
        obj = model_admin.model(data)
    for name, value in direct.items():
        assert spec is not None
        setattr(obj, name, await _direct_value(session, spec, name, value))
    if virtual_names:
        errors = await model_admin.apply_virtual(obj, virtual)
        if errors:
            return None, errors
    try:
        await model_admin.save_model(request, session, obj, change)
        found = changes(model_admin, before, snapshot(model_admin, obj, tracked))
        await session.flush()  # the new row's key
        if before_commit is not None:  # the inlines' rows, in the same transaction
            found += await before_commit(obj)
        if history:
            if virtual:
                found.append({"field": "Password", "old": HIDDEN, "new": HIDDEN})
            session.add(log(request, model_admin, obj, "change" if change else "add", found))
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        return None, integrity_errors(model_admin, exc)
    except DBAPIError as exc:
        # A value the schema let through but the column can't hold (a Numeric's precision;
        # SQLSTATE class 22): the API answers 422, the form says so. Anything else (a lost
        # connection) is left to plait.db's error handlers.
        if not isinstance(exc, DataError) and not (sqlstate(exc.orig) or "").startswith("22"):
            raise
        await session.rollback()
        return None, {NON_FIELD: _DATA_ERROR}
    await session.refresh(obj)  # database-filled columns, for the message's str(obj)
    return obj, {}
