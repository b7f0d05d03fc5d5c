"""Drawing form fields as HTML: labels, inputs with the constraints browsers check, errors."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup, escape

from plait.forms._fields import FieldSpec

__all__ = ["Control", "attributes", "control_text", "render_input", "render_row"]


@dataclasses.dataclass(frozen=True, slots=True)
class Control:
    """How one field of one form instance is drawn: its HTML name and id (with the form's
    prefix), whether it is required there, and attributes added by the caller."""

    name: str
    id: str
    required: bool
    invalid: bool = False
    help: str | None = None
    attrs: Mapping[str, str] = dataclasses.field(default_factory=dict)


def attributes(attrs: Mapping[str, str | bool | None]) -> Markup:
    """`` name="value"`` pairs, escaped; ``True`` gives a bare attribute, ``False``/None none."""
    parts = []
    for name, value in attrs.items():
        if value is True:
            parts.append(f" {escape(name)}")
        elif value is not False and value is not None:
            parts.append(f' {escape(name)}="{escape(value)}"')
    return Markup("".join(parts))


def _text(value: Any) -> str:
    if value is None or value is False:
        return ""
    if isinstance(value, datetime.datetime):
        # What <input type="datetime-local"> shows: no offset (aware values are shown in UTC).
        moment: datetime.datetime = value
        if moment.tzinfo is not None:
            moment = moment.astimezone(datetime.UTC).replace(tzinfo=None)
        return moment.isoformat(timespec="seconds")
    if isinstance(value, enum.Enum):
        value = value.value
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def control_text(field: FieldSpec, value: Any) -> str:
    """The text a control shows for ``value``: a JSON document indented, a ``bool`` of a
    select as ``true``/``false``, a date-time without its offset (in UTC)."""
    if field.widget == "json" and not isinstance(value, str) and value is not None:
        return json.dumps(value, indent=2, ensure_ascii=False, default=str)
    if isinstance(value, bool) and field.widget == "select":
        return "true" if value else "false"
    return _text(value)


def _selected(field: FieldSpec, value: Any) -> set[str]:
    values = value if isinstance(value, list | tuple | set | frozenset) else [value]
    return {control_text(field, v) for v in values if v is not None}


def _choices(field: FieldSpec, value: Any) -> Markup:
    chosen = _selected(field, value)
    if field.widget == "checkboxes":
        return Markup("").join(
            Markup('<label><input type="checkbox" name="{}" value="{}"{}> {}</label>').format(
                field.name, key, Markup(" checked") if key in chosen else "", label
            )
            for key, label in field.choices or ()
        )
    options = Markup("").join(
        Markup('<option value="{}"{}>{}</option>').format(
            key, Markup(" selected") if key in chosen else "", label
        )
        for key, label in field.choices or ()
    )
    # As Django's model forms: a select starts blank until a choice is made, so that the
    # browser does not pick the first one unasked.
    if (field.nullable or not chosen) and not field.multiple:
        selected = Markup(" selected") if not chosen else ""
        empty = Markup('<option value=""{}>{}</option>').format(selected, field.blank_label)
        options = empty + options
    return options


def render_input(field: FieldSpec, value: Any, control: Control | None = None) -> Markup:
    """The control of one field, showing ``value`` (what was sent, or the initial value)."""
    how = control or Control(f"{field.name}", f"id_{field.name}", field.required)
    described = " ".join(
        ([f"{how.id}_error"] if how.invalid else []) + ([f"{how.id}_help"] if how.help else [])
    )
    common: dict[str, str | bool | None] = {
        "name": how.name,
        "id": how.id,
        "required": how.required and field.widget != "checkbox",
        "aria-invalid": "true" if how.invalid else None,
        "aria-describedby": described or None,
    }
    attrs = {**field.attrs, **how.attrs}
    if field.widget in ("textarea", "json"):
        # The newline after <textarea> is dropped by HTML parsers: a value that starts
        # with one keeps it.
        return Markup("<textarea{}>\n{}</textarea>").format(
            attributes({**common, **attrs}), control_text(field, value)
        )
    if field.widget == "checkboxes":
        boxes = _choices(dataclasses.replace(field, name=how.name), value)
        return Markup('<div id="{}" class="choices">{}</div>').format(how.id, boxes)
    if field.widget == "select":
        return Markup("<select{}>{}</select>").format(
            attributes({**common, "multiple": field.multiple, **attrs}), _choices(field, value)
        )
    extra: dict[str, str | bool | None] = {"type": field.widget}
    if field.widget == "checkbox":
        extra.update(value="on", checked=bool(value) and _text(value) not in ("off", "false"))
    elif field.widget == "file":
        extra["multiple"] = field.multiple
    elif field.widget != "password":  # a password is never sent back to the browser
        extra["value"] = _text(value) or None
    return Markup("<input{}>").format(attributes({**extra, **common, **attrs}))


def render_row(
    field: FieldSpec, value: Any, errors: list[str], control: Control | None = None
) -> Markup:
    """Label, control, help text and errors of one field, in a ``<div class="field">``."""
    how = control or Control(field.name, f"id_{field.name}", field.required, help=field.help)
    how = dataclasses.replace(how, invalid=bool(errors))
    rendered = render_input(field, value, how)
    if field.widget == "hidden":
        return rendered
    label = Markup('<label for="{}">{}</label>').format(how.id, field.label)
    help_text = (
        Markup('<small id="{}_help">{}</small>').format(how.id, how.help) if how.help else ""
    )
    error_list = (
        Markup('<ul class="errors" id="{}_error">{}</ul>').format(
            how.id, Markup("").join(Markup("<li>{}</li>").format(e) for e in errors)
        )
        if errors
        else ""
    )
    css = "field invalid" if errors else "field"
    return Markup('<div class="{}">{}{}{}{}</div>').format(
        css, label, rendered, help_text, error_list
    )
