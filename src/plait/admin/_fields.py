"""Form fields derived from a model's columns and its Create/Update schemas.

The schemas (``Model.Create``, ``Model.Update``) decide what is writable and how a value is
validated, exactly as the JSON API does; the column types decide the HTML input. Posted
strings are turned into what the schema expects (``""`` into ``None`` on a nullable column,
a ``datetime-local`` value into a UTC date-time), then converted field by field so that
every field's error is shown at once.
"""

from __future__ import annotations

import datetime
import enum
import json
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Union, get_args, get_origin

import msgspec
import sqlalchemy as sa
from msgspec import UNSET, UnsetType

from plait.admin._display import format_value
from plait.admin._options import ModelAdmin, humanize, related_model
from plait.db import EmailType, URLType, model_schema

__all__ = [
    "KEYS",
    "OMIT",
    "FormField",
    "Kind",
    "convert_errors",
    "form_fields",
    "format_value",
    "input_value",
    "parse_form",
    "related_model",
]

Kind = Literal["create", "update"]
OMIT: Any = UNSET
"""A field the form leaves to the database (its default) or unchanged."""

_REQUIRED = "This field is required."
_PATTERN_MESSAGES = {"email": "Enter a valid email address.", "url": "Enter a valid URL."}
_UTC_HINT = {"datetime-local": "In UTC."}


@dataclass
class FormField:
    """One input of an add/change form."""

    name: str
    label: str
    widget: str
    """``text``, ``textarea``, ``number``, ``checkbox``, ``select``, ``datetime-local``,
    ``date``, ``time``, ``json`` (a textarea holding JSON) or ``password``."""
    field_type: Any
    """The schema's type for the field (``UnsetType`` removed)."""
    required: bool
    nullable: bool
    has_default: bool
    max_length: int | None = None
    step: str | None = None
    help_text: str | None = None
    choices: list[tuple[str, str]] = field(default_factory=list)
    """Fixed choices (enums, a nullable boolean); foreign keys get theirs per request."""
    related: type | None = None
    """The model a foreign key refers to (a select of its rows)."""
    related_key: str | None = None
    """The attribute of ``related`` the foreign key holds."""
    direct: bool = False
    """Set on the row as it is, not through the model's schemas (``extra_fields``,
    ``many_to_many``)."""
    many: bool = False
    """A many-to-many relationship: a multiple select of the related rows' keys."""
    virtual: bool = False
    """Not a column: an input the ModelAdmin handles itself (a new user's password)."""


def _without_unset(tp: Any) -> Any:
    if get_origin(tp) in (Union, types.UnionType):
        args = tuple(a for a in get_args(tp) if a is not UnsetType)
        return args[0] if len(args) == 1 else Union[args]  # noqa: UP007
    return tp


def _widget(column: sa.Column[Any], write_only: bool) -> tuple[str, dict[str, Any]]:
    type_ = column.type
    if write_only:
        return "password", {}
    if isinstance(type_, EmailType | URLType):
        return ("email" if isinstance(type_, EmailType) else "url"), {"max_length": type_.length}
    if isinstance(type_, sa.types.TypeDecorator):  # plait.db.UTCDateTime stores a DateTime
        type_ = type_.impl_instance
    if isinstance(type_, sa.Boolean):
        if column.nullable:
            return "select", {"choices": [("", "Unknown"), ("true", "Yes"), ("false", "No")]}
        return "checkbox", {}
    if isinstance(type_, sa.Enum):
        if type_.enum_class is not None:
            members: list[enum.Enum] = list(type_.enum_class)
            return "select", {"choices": [(str(m.value), humanize(m.name)) for m in members]}
        return "select", {"choices": [(value, value) for value in type_.enums]}
    if isinstance(type_, sa.JSON | sa.ARRAY):
        return "json", {}
    if isinstance(type_, sa.Text):
        return "textarea", {}
    if isinstance(type_, sa.String):
        # An unbounded string may hold line breaks, which an <input> would drop on save.
        if type_.length is None:
            return "textarea", {}
        return "text", {"max_length": type_.length}
    if isinstance(type_, sa.Integer):
        return "number", {"step": "1"}
    if isinstance(type_, sa.Numeric):  # Float and Decimal
        return "number", {"step": "any"}
    if isinstance(type_, sa.DateTime):
        return "datetime-local", {"step": "1"}
    if isinstance(type_, sa.Date):
        return "date", {}
    if isinstance(type_, sa.Time):
        return "time", {"step": "1"}
    return "text", {}


def form_fields(admin: ModelAdmin, kind: Kind) -> list[FormField]:
    """The inputs of the add (``create``) or change (``update``) form of ``admin.model``."""
    model = admin.model
    schema = model_schema(model, kind)
    shown = set(model_schema(model, "read").__struct_fields__)
    skipped = set(admin.exclude) | set(admin.readonly_fields)
    found = []
    for info in msgspec.structs.fields(schema):
        column = admin.columns.get(info.name)
        if column is None or info.name in skipped:
            continue
        if isinstance(column.type, sa.LargeBinary):
            continue  # no HTML input holds bytes
        write_only = info.name not in shown
        widget, extra = _widget(column, write_only)
        related = related_model(column, model)
        if related is not None:
            widget, extra = "select", {}
            extra["related"], extra["related_key"] = related
        has_default = info.default is not msgspec.NODEFAULT or info.default_factory not in (
            msgspec.NODEFAULT,
            None,
        )
        nullable = bool(column.nullable)
        found.append(
            FormField(
                name=info.name,
                label=humanize(info.name.removesuffix("_id") if related else info.name),
                widget=widget,
                field_type=_without_unset(info.type),
                required=not nullable and not (kind == "create" and has_default),
                nullable=nullable,
                has_default=has_default,
                help_text=column.comment or column.doc or _UTC_HINT.get(widget),
                **extra,
            )
        )
    for name in admin.extra_fields:
        found.append(_column_field(admin, name, kind))
    for name in admin.many_to_many:
        found.append(_many_field(admin, name))
    return found


def _column_field(admin: ModelAdmin, name: str, kind: Kind) -> FormField:
    """A column the schemas keep read-only that the admin edits (``extra_fields``)."""
    column = admin.columns[name]
    widget, extra = _widget(column, False)
    python_type: Any = column.type.python_type
    nullable = bool(column.nullable)
    has_default = column.default is not None or column.server_default is not None
    return FormField(
        name=name,
        label=humanize(name),
        widget=widget,
        field_type=python_type | None if nullable else python_type,
        required=not nullable and not has_default and widget != "checkbox",
        nullable=nullable,
        has_default=has_default,
        help_text=column.comment or column.doc or _UTC_HINT.get(widget),
        direct=True,
        **extra,
    )


def _many_field(admin: ModelAdmin, name: str) -> FormField:
    """A many-to-many relationship: a multiple select of the related rows."""
    relationship: Any = sa.inspect(admin.model).relationships[name]
    target: type = relationship.mapper.class_
    key_column = relationship.mapper.primary_key[0]
    key = relationship.mapper.get_property_by_column(key_column).key
    return FormField(
        name=name,
        label=humanize(name),
        widget="multiselect",
        field_type=list[key_column.type.python_type],  # type: ignore[name-defined]
        required=False,
        nullable=False,
        has_default=True,
        help_text=relationship.doc,
        related=target,
        related_key=key,
        direct=True,
        many=True,
    )


# ---------------------------------------------------------------- posted values


def _normalize_datetime(text: str) -> str:
    """A ``datetime-local`` value (``2024-05-01T10:30``) as an RFC 3339 UTC date-time."""
    date, sep, time = text.partition("T")
    if not sep:
        date, sep, time = text.partition(" ")
    if not sep:
        return text
    if re.fullmatch(r"\d{2}:\d{2}", time):
        time += ":00"
    if not re.search(r"(Z|[+-]\d{2}:?\d{2})$", time, re.IGNORECASE):
        time += "+00:00"
    return f"{date}T{time}"


def _raw(form_field: FormField, form: Mapping[str, Any], kind: Kind) -> tuple[Any, str | None]:
    """The posted value of one field in the shape its schema type converts from."""
    name, widget = form_field.name, form_field.widget
    if widget == "checkbox":
        return name in form, None
    if form_field.many:
        getlist = getattr(form, "getlist", None)
        posted = getlist(name) if getlist is not None else form.get(name, [])
        return [v for v in posted if isinstance(v, str) and v], None
    value = form.get(name, "")
    if not isinstance(value, str):
        return OMIT, "Upload a value, not a file."
    text = value if widget in ("text", "textarea", "password") else value.strip()
    if text == "":
        if widget == "password" and kind == "update":
            return OMIT, None  # left empty: unchanged
        if form_field.nullable:
            return None, None
        if kind == "create" and form_field.has_default:
            return OMIT, None
        return OMIT, _REQUIRED
    if widget == "json":
        try:
            return json.loads(text), None
        except ValueError:
            return OMIT, "Enter valid JSON."
    if widget == "datetime-local":
        return _normalize_datetime(text), None
    if widget == "time" and re.fullmatch(r"\d{1,2}:\d{2}", text):
        return text + ":00", None
    return text, None


_MESSAGES = [
    (re.compile(r"Expected `int`, got"), "Enter a whole number."),
    (re.compile(r"Expected `(float|decimal)`, got"), "Enter a number."),
    (re.compile(r"RFC3339 encoded datetime|Expected `datetime`"), "Enter a valid date/time."),
    (re.compile(r"Invalid RFC3339 encoded date|Expected `date`"), "Enter a valid date."),
    (re.compile(r"Invalid RFC3339 encoded time|Expected `time`"), "Enter a valid time."),
    (re.compile(r"Invalid enum value|Expected `bool`"), "Select a valid choice."),
    (re.compile(r"Invalid UUID"), "Enter a valid UUID."),
]
_LENGTH = re.compile(r"of length <= (\d+)")
_BOUND = re.compile(r"(>=|<=|>|<) (-?[\d.e+]+)")
_WORDS = {">=": "greater than or equal to", "<=": "less than or equal to", ">": "greater than"}


def convert_errors(message: str) -> str:
    """A msgspec validation message said for a person filling in a form."""
    message = message.split(" - at `$", 1)[0]
    length = _LENGTH.search(message)
    if length is not None:
        return f"Ensure this value has at most {length.group(1)} characters."
    if message.startswith("Expected `") and (bound := _BOUND.search(message)) is not None:
        words = _WORDS.get(bound.group(1), "less than")
        return f"Ensure this value is {words} {bound.group(2)}."
    for pattern, friendly in _MESSAGES:
        if pattern.search(message):
            return friendly
    if "pattern" in message:
        return "Enter a value without NUL characters."
    return message.replace("`", "")


_TEXTUAL = {"text": "strip-newlines", "email": "strip", "url": "strip", "textarea": "lf"}


def _same_text(widget: str, posted: str, shown: str) -> bool:
    """Whether ``posted`` is ``shown`` as a browser sends it back: an input drops line
    breaks (and an e-mail or URL input surrounding spaces), a textarea sends CRLF."""
    how = _TEXTUAL.get(widget, "")
    if how == "lf":
        return _lf(posted) == _lf(shown)
    if how:
        posted, shown = re.sub(r"[\r\n]", "", posted), re.sub(r"[\r\n]", "", shown)
        return posted.strip() == shown.strip() if how == "strip" else posted == shown
    return False


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _unchanged(form_field: FormField, form: Mapping[str, Any], shown: str, value: Any) -> bool:
    """Whether the posted field is what the change form showed, read as the browser sends
    it: then the stored value is kept as it is (its microseconds, its line breaks, its JSON
    spacing), never replaced by the form's rendering of it."""
    posted = form.get(form_field.name, "")
    if form_field.widget == "checkbox":
        return (form_field.name in form) == (shown == "true")
    if form_field.many:
        return isinstance(value, list) and sorted(value) == sorted(shown.split(_KEYS))
    if not isinstance(posted, str):
        return False
    if _same_text(form_field.widget, posted, shown):
        return True
    before, error = _raw(form_field, {form_field.name: shown}, "update")
    if error is not None or before is OMIT or value is OMIT:
        return False
    try:
        return bool(
            msgspec.convert(before, form_field.field_type, strict=False)
            == msgspec.convert(value, form_field.field_type, strict=False)
        )
    except msgspec.ValidationError:
        return False


def parse_form(
    fields: list[FormField],
    form: Mapping[str, Any],
    kind: Kind,
    choices: Mapping[str, list[tuple[str, str]]],
    shown: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Posted strings -> ``(raw values for the schema, errors by field name)``.

    Each field is converted with its schema type on its own, so one bad field does not hide
    the others' errors; the caller then converts the whole Struct (the same checks again,
    plus the schema's own post-processing). ``shown`` (a change form) holds what the form
    showed: a field posted back as it was shown is left out, so the stored value stays.
    """
    raw: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for form_field in fields:
        value, error = _raw(form_field, form, kind)
        if (
            shown is not None
            and form_field.name in shown
            and form_field.widget != "password"
            and _unchanged(form_field, form, shown[form_field.name], value)
        ):
            continue
        if error is None and value is not OMIT and value is not None:
            allowed = choices.get(form_field.name) or form_field.choices
            offered = {key for key, _ in allowed}
            if form_field.widget == "select" and str(value) not in offered:
                error = "Select a valid choice."
            if form_field.many and (unknown := [v for v in value if v not in offered]):
                error = f"Select a valid choice. {unknown[0]} is not one of the available choices."
        if error is None and value is not OMIT:
            try:
                msgspec.convert(value, form_field.field_type, strict=False)
            except msgspec.ValidationError as exc:
                error = convert_errors(str(exc))
                if "matching regex" in str(exc):
                    error = _PATTERN_MESSAGES.get(form_field.widget, error)
        if error is not None:
            errors[form_field.name] = error
        elif value is not OMIT:
            raw[form_field.name] = value
    return raw, errors


# ---------------------------------------------------------------- showing values


def _utc_naive(value: datetime.datetime) -> datetime.datetime:
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    return value


KEYS = _KEYS = "\x1f"
"""Joins the keys of a many-to-many field's selected rows in one string."""


def input_value(form_field: FormField, value: Any) -> str:
    """A stored value as the text of its input (``datetime-local`` wants no offset); the
    related rows of a many-to-many field as their keys joined by ``_KEYS``."""
    if value is None or value is UNSET or form_field.widget == "password":
        return ""
    if form_field.many:
        key = form_field.related_key or "id"
        return _KEYS.join(str(getattr(row, key)) for row in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, datetime.datetime):
        return _utc_naive(value).isoformat(timespec="seconds")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if form_field.widget == "json":
        return json.dumps(value, indent=2, ensure_ascii=False, default=str)
    return str(value)
