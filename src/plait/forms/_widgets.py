"""Drawing form fields as HTML: labels, inputs with the constraints browsers check, errors."""

from __future__ import annotations

import datetime
import enum
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup, escape

from plait.forms._fields import FieldSpec

__all__ = ["attributes", "render_input", "render_row"]


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


def _selected(value: Any) -> set[str]:
    values = value if isinstance(value, list | tuple | set | frozenset) else [value]
    return {_text(v) for v in values if v is not None}


def render_input(field: FieldSpec, value: Any, invalid: bool) -> Markup:
    """The control of one field, showing ``value`` (what was sent, or the initial value)."""
    common: dict[str, str | bool | None] = {
        "name": field.name,
        "id": f"id_{field.name}",
        "required": field.required and field.widget != "checkbox",
        "aria-invalid": "true" if invalid else None,
        "aria-describedby": f"id_{field.name}_help" if field.help else None,
    }
    if field.widget == "textarea":
        return Markup("<textarea{}>{}</textarea>").format(
            attributes({**common, **field.attrs}), _text(value)
        )
    if field.widget == "checkboxes":
        chosen = _selected(value)
        boxes = Markup("").join(
            Markup('<label><input type="checkbox" name="{}" value="{}"{}> {}</label>').format(
                field.name, key, Markup(" checked") if key in chosen else "", label
            )
            for key, label in field.choices or ()
        )
        return Markup('<div id="id_{}" class="choices">{}</div>').format(field.name, boxes)
    if field.widget == "select":
        chosen = _selected(value)
        options = Markup("").join(
            Markup('<option value="{}"{}>{}</option>').format(
                key, Markup(" selected") if key in chosen else "", label
            )
            for key, label in field.choices or ()
        )
        if field.nullable and not field.multiple:
            options = Markup('<option value="">---------</option>') + options
        return Markup("<select{}>{}</select>").format(
            attributes({**common, "multiple": field.multiple, **field.attrs}), options
        )
    extra: dict[str, str | bool | None] = {"type": field.widget}
    if field.widget == "checkbox":
        extra.update(value="on", checked=bool(value) and _text(value) not in ("off", "false"))
    elif field.widget == "file":
        extra["multiple"] = field.multiple
    elif field.widget != "password":  # a password is never sent back to the browser
        extra["value"] = _text(value) or None
    return Markup("<input{}>").format(attributes({**extra, **common, **field.attrs}))


def render_row(field: FieldSpec, value: Any, errors: list[str]) -> Markup:
    """Label, control, help text and errors of one field, in a ``<div class="field">``."""
    control = render_input(field, value, bool(errors))
    if field.widget == "hidden":
        return control
    label = Markup('<label for="id_{}">{}</label>').format(field.name, field.label)
    help_text = (
        Markup('<small id="id_{}_help">{}</small>').format(field.name, field.help)
        if field.help
        else Markup("")
    )
    error_list = (
        Markup('<ul class="errors">{}</ul>').format(
            Markup("").join(Markup("<li>{}</li>").format(e) for e in errors)
        )
        if errors
        else Markup("")
    )
    css = "field invalid" if errors else "field"
    return Markup('<div class="{}">{}{}{}{}</div>').format(
        css, label, control, help_text, error_list
    )
