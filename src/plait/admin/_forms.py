"""The admin's forms: a plait.forms ``Form`` per model and page, built from the model.

The model's ``Create``/``Update`` schemas decide what is writable and how a value is
checked, as in the JSON API; the column types decide the control (a textarea for an
unbounded string, JSON in a textarea, a select of the related rows for a foreign key).
plait.forms draws, parses and validates them; this module only says which fields there
are. :func:`foreign_key_field` is where a foreign key's control is chosen.
"""

from __future__ import annotations

import operator
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import msgspec
import sqlalchemy as sa
from msgspec import NODEFAULT, UNSET, Meta, UnsetType
from sqlalchemy.ext.asyncio import AsyncSession

from plait import forms
from plait.admin._options import ModelAdmin, humanize, object_label, related_model
from plait.admin._queries import load_choices, model_value
from plait.db import EmailType, URLType, model_schema

__all__ = [
    "ModelForm",
    "Page",
    "bind",
    "choices_of",
    "foreign_key_field",
    "initial_values",
    "model_form",
    "row_choice",
    "to_save",
]

Page = Literal["add", "change", "password"]

_UTC_HINT = "In UTC."


@dataclass(frozen=True)
class ModelForm:
    """The form of one model's page, and what the admin does with each field."""

    form: type[forms.Form]
    direct: frozenset[str]
    """Set on the row as they are, not through the schemas (``extra_fields``,
    ``many_to_many``)."""
    virtual: frozenset[str]
    """Not columns: the ModelAdmin's ``apply_virtual`` handles them (a new password)."""
    related: Mapping[str, tuple[type, str]]
    """Foreign keys and many-to-many fields: the model and attribute they refer to."""
    many: frozenset[str]
    """Many-to-many fields: their keys become the related rows."""
    searched: frozenset[str] = frozenset()
    """Foreign keys searched as you type: only the chosen row is read as their choice."""


def foreign_key_field(
    model_admin: ModelAdmin, name: str, target: type, key: str, searched: bool = False
) -> tuple[Any, ...]:
    """How the foreign key ``name`` (to ``target.<key>``) is drawn and checked: the
    plait.forms markers of its annotation. Here a foreign key's control is chosen.

    By default a select of ``target``'s rows, read per request (``forms.Choices``), which
    refuses a key that is not among them. ``searched`` as you type (a big table), as
    Django's autocomplete: a select of the one row it holds (:func:`bind`), which
    ``admin.js`` turns into a combobox asking the admin's autocomplete page (its address
    relative to the admin's index, ``<body data-admin-url>``).
    """
    if searched:
        url = f"{model_admin.slug}/autocomplete/?field={name}"
        return (_choices(target, key), forms.Widget("select", **{"data-autocomplete": url}))
    return (_choices(target, key), forms.Widget("select"))


def _choices(target: type, key: str, *, rows: bool = False) -> forms.Choices:
    async def load(session: AsyncSession) -> list[tuple[str, str]]:
        return await load_choices(session, target, key)

    return forms.Choices(load, key=operator.attrgetter(key) if rows else None)


def _without_unset(tp: Any) -> Any:
    if get_origin(tp) in (Union, types.UnionType):
        args = tuple(a for a in get_args(tp) if a is not UnsetType)
        return args[0] if len(args) == 1 else Union[args]  # noqa: UP007
    return tp


def _widget(column: sa.Column[Any]) -> forms.Widget | None:
    """A control the field's type does not imply (plait.forms picks the rest)."""
    type_ = column.type
    if isinstance(type_, EmailType | URLType):
        return None  # the schema's format says so
    if isinstance(type_, sa.types.TypeDecorator):  # plait.db.UTCDateTime stores a DateTime
        type_ = type_.impl_instance
    if isinstance(type_, sa.JSON | sa.ARRAY):
        return forms.Widget("json", rows="5")
    if isinstance(type_, sa.Text) or (isinstance(type_, sa.String) and type_.length is None):
        # An unbounded string may hold line breaks, which an <input> would drop on save.
        return forms.Widget("textarea", rows="10")
    return None


def _is_datetime(column: sa.Column[Any]) -> bool:
    type_ = column.type
    if isinstance(type_, sa.types.TypeDecorator):
        type_ = type_.impl_instance
    return isinstance(type_, sa.DateTime)


def _column_field(
    model_admin: ModelAdmin,
    name: str,
    annotation: Any,
    omit_blank: bool,
    related: dict[str, tuple[type, str]],
    searched: frozenset[str] = frozenset(),
) -> tuple[str, Any, Any]:
    """``(name, annotation, default)`` of a column's field."""
    column = model_admin.columns[name]
    target = related_model(column, model_admin.model)
    extra: list[Any] = []
    if target is not None:
        related[name] = target
        extra += foreign_key_field(model_admin, name, *target, searched=name in searched)
    elif (widget := _widget(column)) is not None:
        extra.append(widget)
    help_text = column.comment or column.doc or (_UTC_HINT if _is_datetime(column) else None)
    label = humanize(name.removesuffix("_id") if target is not None else name)
    extra.append(Meta(title=label, description=help_text))
    default: Any = NODEFAULT
    if column.nullable:
        default = None
    elif isinstance(column.type, sa.Boolean):
        default = False  # an unticked box is a value, never the column's default
    elif omit_blank:
        default = UNSET  # left blank on the add form: the column's default
    return name, Annotated[(annotation, *extra)], default


def _many_field(
    model_admin: ModelAdmin, name: str, related: dict[str, tuple[type, str]]
) -> tuple[str, Any, Any]:
    relationship: Any = sa.inspect(model_admin.model).relationships[name]
    target: type = relationship.mapper.class_
    key_column = relationship.mapper.primary_key[0]
    key = relationship.mapper.get_property_by_column(key_column).key
    related[name] = (target, key)
    item: Any = key_column.type.python_type
    meta = Meta(title=humanize(name), description=relationship.doc)
    return name, Annotated[list[item], _choices(target, key, rows=True), meta], []


def model_form(
    model_admin: ModelAdmin,
    page: Page,
    exclude: Sequence[str] = (),
    searched: frozenset[str] = frozenset(),
) -> ModelForm:
    """The form of the ``add``/``change`` page of ``model_admin.model`` (or its ``password``
    page: the virtual fields alone); ``exclude`` names more columns to leave out, and
    ``searched`` the foreign keys searched as you type."""
    model = model_admin.model
    fields: list[tuple[str, Any, Any]] = []
    related: dict[str, tuple[type, str]] = {}
    if page != "password":
        schema = model_schema(model, "create" if page == "add" else "update")
        skipped = {*model_admin.exclude, *model_admin.readonly_fields, *exclude}
        for info in msgspec.structs.fields(schema):
            column = model_admin.columns.get(info.name)
            if column is None or info.name in skipped or isinstance(column.type, sa.LargeBinary):
                continue  # no HTML input holds bytes
            has_default = info.default is not NODEFAULT or info.default_factory not in (
                NODEFAULT,
                None,
            )
            annotation = _without_unset(info.type)
            omit_blank = page == "add" and has_default
            fields.append(
                _column_field(model_admin, info.name, annotation, omit_blank, related, searched)
            )
        for name in model_admin.extra_fields:
            column = model_admin.columns[name]
            python_type: Any = column.type.python_type
            annotation = python_type | None if column.nullable else python_type
            has_default = column.default is not None or column.server_default is not None
            omit_blank = page == "add" and has_default
            fields.append(
                _column_field(model_admin, name, annotation, omit_blank, related, searched)
            )
        fields += [_many_field(model_admin, name, related) for name in model_admin.many_to_many]
    virtual = dict(model_admin.virtual_fields(page))
    fields += [(name, annotation, NODEFAULT) for name, annotation in virtual.items()]
    struct = msgspec.defstruct(f"{model.__name__}{page.capitalize()}Fields", fields, kw_only=True)
    form = types.new_class(
        f"{model.__name__}{page.capitalize()}Form", (forms.Form,), {"schema": struct}
    )
    return ModelForm(
        form=form,
        direct=frozenset([*model_admin.extra_fields, *model_admin.many_to_many]),
        virtual=frozenset(virtual),
        related=related,
        many=frozenset(model_admin.many_to_many),
        searched=searched & frozenset(related),
    )


def initial_values(model_admin: ModelAdmin, spec: ModelForm) -> dict[str, Any]:
    """What an add form starts from: the columns' scalar defaults."""
    values = {}
    for name in spec.form.fields:
        default = getattr(model_admin.columns.get(name), "default", None)
        if default is not None and getattr(default, "is_scalar", False):
            values[name] = default.arg
    return values


async def choices_of(spec: ModelForm, session: AsyncSession) -> dict[str, list[tuple[str, str]]]:
    """The choices of the form's fields that have them per request, read once (an
    inline's rows share them)."""
    return {
        name: await field.source.load(session)
        for name, field in spec.form.fields.items()
        if field.source is not None and name not in spec.searched
    }


async def bind(
    spec: ModelForm,
    session: AsyncSession,
    data: Any,
    initial: Any = None,
    prefix: str | None = None,
    choices: Mapping[str, list[tuple[str, str]]] | None = None,
) -> forms.Form:
    """The form, bound to ``data`` (None: unbound), with its choices (read unless given).

    A foreign key searched as you type gets one choice: the row it holds (posted, or
    initial), so that a table of millions is never listed and a key that is no row is
    refused.
    """
    form = spec.form(data, initial=initial, prefix=prefix)
    for name, pairs in (
        choices if choices is not None else await choices_of(spec, session)
    ).items():
        form.set_choices(name, pairs)
    for name in spec.searched:
        text = data.get(form.add_prefix(name)) if data is not None else form.initial.get(name)
        target, key = spec.related[name]
        form.set_choices(name, await row_choice(session, target, key, text))
    return form


async def row_choice(
    session: AsyncSession, target: type, key: str, text: Any
) -> list[tuple[str, str]]:
    """``[(key, label)]`` of the ``target`` row whose ``key`` is ``text``; none if no row."""
    value = model_value(target, key, str(text)) if text not in (None, "") else None
    if value is None:
        return []
    attribute = getattr(target, key)
    row = (await session.scalars(sa.select(target).where(attribute == value))).first()
    return [] if row is None else [(str(getattr(row, key)), object_label(row))]


def to_save(spec: ModelForm, form: forms.Form, change: bool) -> dict[str, Any]:
    """The cleaned values to write: on a change form, only the fields the user changed (a
    value sent back as shown keeps the stored one as it is)."""
    cleaned = form.cleaned_data
    names = form.changed_data if change else list(cleaned)
    return {name: cleaned[name] for name in names if name in cleaned}
