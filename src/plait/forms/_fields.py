"""What a form field is, read once from the form class's annotations."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import re
import types
import typing
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import msgspec

from plait import UploadFile
from plait._formats import email_meta, url_meta
from plait._signature import split_annotated

__all__ = [
    "JSON",
    "NO_DEFAULT",
    "URL",
    "Choices",
    "Email",
    "FieldSpec",
    "Hidden",
    "Password",
    "TextArea",
    "Widget",
    "WriteOnly",
    "check_names",
    "field_specs",
    "schema_specs",
    "spec",
    "with_widgets",
]

NO_DEFAULT: Any = msgspec.NODEFAULT


@dataclasses.dataclass(frozen=True)
class Widget:
    """How a field is drawn when its type does not say: ``Annotated[str, Widget("textarea")]``.

    ``kind`` is an ``<input type>`` (``"password"``, ``"email"``, ``"hidden"``, ``"url"``…),
    ``"textarea"``, ``"select"`` or ``"checkboxes"`` (a list of checkboxes for a field of
    several choices); ``attrs`` are extra HTML attributes (``rows="8"``, ``placeholder=...``).
    """

    kind: str
    attrs: dict[str, str] = dataclasses.field(default_factory=dict)

    def __init__(self, kind: str, **attrs: str) -> None:
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "attrs", attrs)

    def __hash__(self) -> int:
        # Hashable although ``attrs`` is a dict: ``X | None`` hashes the Annotated metadata.
        return hash((self.kind, tuple(sorted(self.attrs.items()))))


Password = Annotated[str, Widget("password")]
"""A password: drawn as ``<input type="password">``, never sent back, not stripped."""
TextArea = Annotated[str, Widget("textarea")]
"""Several lines of text: drawn as a ``<textarea>``."""
Email = Annotated[str, email_meta(), Widget("email")]
"""An e-mail address (Django's ``EmailField``): ``<input type="email">``, at most 254
characters of the ``name@domain.tld`` shape; "Enter a valid email address." otherwise."""
URL = Annotated[str, url_meta(), Widget("url")]
"""An absolute URL (Django's ``URLField``): ``<input type="url">``, http(s) or ftp(s), at most
200 characters; a value typed without a scheme gets ``https://``; "Enter a valid URL."."""
Hidden = Annotated[str, Widget("hidden")]
"""A value carried through the form without being shown."""
JSON = Annotated[Any, Widget("json")]
"""A JSON document typed in a ``<textarea>`` (shown indented); "Enter valid JSON." otherwise.
``Annotated[dict[str, Any], forms.Widget("json")]`` also checks its shape."""


class _KeepBlank:
    """Marks a write-only field: left blank on an edit form, the stored value stays."""

    def __repr__(self) -> str:
        return "KEEP_BLANK"


KEEP_BLANK = _KeepBlank()
WriteOnly = Annotated[str, Widget("password", autocomplete="new-password"), KEEP_BLANK]
"""A secret the form sets but never shows (an API token, a stored hash): a password input,
never filled in. On an edit form (``initial`` holds a value) it is optional, and left blank
it is left out of ``cleaned_data``, so ``apply(row, form.cleaned_data)`` keeps the stored
value. A model's write-only column (``info={"write_only": True}``) is one."""


class Choices:
    """Choices known only per request (the rows of a table, what a user may pick)::

        author_id: Annotated[int, forms.Choices(load_authors)]
        tags: Annotated[list[int], forms.Choices(load_tags, key=lambda tag: tag.id)]

    ``load`` is awaited by ``await form.load_choices(context)`` with that context (a
    database session) and returns ``(key, label)`` pairs; or give them with
    ``form.set_choices(name, pairs)``. The field is a ``<select>`` (``<select multiple>``
    for a list), and a value that is not among the choices is refused ("Select a valid
    choice."), even when none were given. ``key`` turns an initial value (a related row)
    into the key its choice uses.
    """

    __slots__ = ("_key", "_load")

    open = False
    """Every value must be one of the choices (``RelatedChoices`` may create new rows)."""

    def __init__(
        self,
        load: Callable[[Any], Awaitable[Iterable[tuple[Any, str]]]] | None = None,
        *,
        key: Callable[[Any], Any] | None = None,
    ) -> None:
        self._load = load
        self._key = key

    async def load(self, context: Any) -> list[tuple[str, str]]:
        """The ``(key, label)`` pairs, keys as text (what the browser sends back)."""
        if self._load is None:
            return []
        return [(str(key), str(label)) for key, label in await self._load(context)]

    def key_of(self, value: Any) -> Any:
        return value if self._key is None else self._key(value)


@dataclasses.dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field: its type for conversion, and everything needed to draw it."""

    name: str
    type: Any
    """The type a submitted value converts to (``X`` for ``X | None``: blank is ``None``)."""
    default: Any
    nullable: bool
    multiple: bool
    label: str
    help: str | None
    widget: str
    attrs: dict[str, str]
    choices: tuple[tuple[str, str], ...] | None
    aware: bool = False
    """A datetime that needs an offset: the browser's local value is taken as UTC."""
    source: Any = None
    """Where the choices come from at request time (:class:`Choices`, or a model
    relationship's ``RelatedChoices``: ``await form.load_choices(session)``)."""
    keep_blank: bool = False
    """A write-only field (:data:`WriteOnly`): blank on an edit form keeps the stored value."""
    blank_label: str = "---------"
    """The label of a select's empty choice (``"Unknown"`` for a ``bool | None``)."""

    @property
    def required(self) -> bool:
        return self.default is NO_DEFAULT and not self.nullable

    @property
    def is_file(self) -> bool:
        return self.widget == "file"


def _strip_none(tp: Any) -> tuple[Any, bool]:
    """``X`` from ``X | None`` (nullable) or ``X | UnsetType`` (a schema's optional field)."""
    if get_origin(tp) in (Union, types.UnionType):
        args = get_args(tp)
        members = [a for a in args if a is not type(None) and a is not msgspec.UnsetType]
        if len(members) == 1 and len(members) < len(args):
            return members[0], type(None) in args
    return tp, False


def _choices(tp: Any) -> tuple[tuple[str, str], ...] | None:
    if get_origin(tp) is Literal:
        return tuple((str(v), str(v)) for v in get_args(tp))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tuple((str(m.value), m.name.replace("_", " ").capitalize()) for m in tp)
    return None


_INPUT_TYPES: dict[Any, str] = {
    bool: "checkbox",
    int: "number",
    float: "number",
    decimal.Decimal: "number",
    datetime.date: "date",
    datetime.datetime: "datetime-local",
    datetime.time: "time",
    UploadFile: "file",
}


def _attrs(metas: Sequence[msgspec.Meta], widget: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    if widget in ("select", "checkboxes"):
        return attrs  # the choices say what may be sent
    for meta in metas:
        for name, attr in (
            ("max_length", "maxlength"),
            ("min_length", "minlength"),
            ("ge", "min"),
            ("le", "max"),
            ("multiple_of", "step"),
        ):
            value = getattr(meta, name, None)
            if value is not None and (widget == "number") == (name in ("ge", "le", "multiple_of")):
                attrs[attr] = str(value)
    return attrs


_FORMAT_WIDGETS = {"email": "email", "uri": "url"}
_META_FIELDS: tuple[str, ...] = ("gt", "ge", "lt", "le", "multiple_of", "pattern")
_META_FIELDS += ("min_length", "max_length", "tz", "title", "description", "examples")
_META_FIELDS += ("extra_json_schema", "extra")


def _combined_pattern(first: str, second: str) -> str:
    """A pattern that ``re.search`` finds when it finds both (each one's own semantics)."""
    return rf"^(?=[\s\S]*?(?:{first}))(?=[\s\S]*?(?:{second}))"


def merge_metas(metas: Sequence[msgspec.Meta]) -> msgspec.Meta | None:
    """One ``Meta`` from several (msgspec refuses two setting the same constraint).

    A later one (a refinement, ``Annotated[forms.URL, Meta(max_length=30)]``) wins; two
    patterns must both match, and ``extra_json_schema`` dicts are merged.
    """
    if len(metas) < 2:
        return metas[0] if metas else None
    merged: dict[str, Any] = {}
    for meta in metas:
        for name in _META_FIELDS:
            value = getattr(meta, name)
            if value is None:
                continue
            if name == "pattern" and merged.get(name) not in (None, value):
                value = _combined_pattern(merged[name], value)
            elif name in ("extra_json_schema", "extra"):
                value = {**merged.get(name, {}), **value}
            merged[name] = value
    return msgspec.Meta(**merged)


def _widget(
    widgets: Sequence[Widget], metas: Sequence[msgspec.Meta], item: Any, choices: Any
) -> tuple[str, dict[str, str]]:
    if widgets:
        return widgets[-1].kind, dict(widgets[-1].attrs)
    schema: dict[str, Any] = {}
    for meta in metas:
        schema.update(meta.extra_json_schema or {})
    if schema.get("writeOnly"):
        # A model's write-only column (a token, a password hash): never shown back.
        return "password", {"autocomplete": "new-password"}
    if schema.get("format") in _FORMAT_WIDGETS:
        # A model's EmailType/URLType column: the same input as forms.Email/forms.URL.
        return _FORMAT_WIDGETS[schema["format"]], {}
    return ("select" if choices is not None else _INPUT_TYPES.get(item, "text")), {}


def spec(name: str, annotation: Any, default: Any) -> FieldSpec:
    """Read a field's annotation (``Annotated[str, Meta(max_length=200)]``, ``int | None``…)."""
    bare, metadata = split_annotated(annotation)
    stripped, nullable = _strip_none(bare)
    inner, more = split_annotated(stripped)
    outer = [*more, *metadata]  # innermost first: an outer Meta refines an inner one
    multiple = get_origin(inner) in (list, set, frozenset, tuple)
    item, item_meta = split_annotated(get_args(inner)[0] if multiple and get_args(inner) else inner)
    metas = [m for m in (*item_meta, *outer) if isinstance(m, msgspec.Meta)]
    widgets = [m for m in (*item_meta, *outer) if isinstance(m, Widget)]
    sources = [m for m in (*item_meta, *outer) if hasattr(m, "load") and hasattr(m, "key_of")]
    choices = _choices(item) or (() if sources else None)
    three_way = item is bool and nullable and not multiple and not widgets
    if three_way:  # Django's NullBooleanSelect: a checkbox can't say "unknown"
        choices = (("true", "Yes"), ("false", "No"))
    widget, extra = _widget(widgets, metas, item, choices)
    if item in (float, decimal.Decimal) and all(m.multiple_of is None for m in metas):
        extra.setdefault("step", "any")
    if widget in ("datetime-local", "time"):
        extra.setdefault("step", "1")  # the seconds are shown: let them be valid and edited
    title = next((m.title for m in reversed(metas) if m.title), None)
    label = title or re.sub(r"_+", " ", name).strip().capitalize()
    help_text = next((m.description for m in reversed(metas) if m.description), None)
    if default is NO_DEFAULT and (nullable or (widget == "checkbox" and not multiple)):
        # An unchecked box is not sent at all; an optional value may be left blank.
        default = None if nullable else False
    if multiple:
        if stripped is not bare:
            # A blank value is handled before conversion: convert to ``X``, not ``X | None``.
            annotation = Annotated[(inner, *outer)] if outer else inner
    else:
        # The bare type with one merged Meta: conversion needs nothing else.
        merged = merge_metas(metas)
        annotation = Annotated[item, merged] if merged is not None else item
    return FieldSpec(
        name=name,
        type=annotation,
        default=default,
        nullable=nullable,
        multiple=multiple,
        label=label,
        help=help_text,
        widget=widget,
        attrs={**_attrs(metas, widget), **extra},
        choices=choices,
        aware=any(m.tz for m in metas),
        source=sources[-1] if sources else None,
        keep_blank=any(m is KEEP_BLANK for m in outer) or _write_only(metas),
        blank_label="Unknown" if three_way else "---------",
    )


def _write_only(metas: Sequence[msgspec.Meta]) -> bool:
    return any((m.extra_json_schema or {}).get("writeOnly") for m in metas)


def schema_specs(schema: type[msgspec.Struct], exclude: Sequence[str]) -> dict[str, FieldSpec]:
    """The fields of a msgspec Struct (``Post.Create``: a model's schema), as form fields."""
    hints = typing.get_type_hints(schema, include_extras=True)
    specs: dict[str, FieldSpec] = {}
    for info in msgspec.structs.fields(schema):
        if info.name in exclude:
            continue
        default = info.default
        if info.default_factory is not NO_DEFAULT:
            default = info.default_factory()
        specs[info.name] = spec(info.encode_name, hints[info.name], default)
    unknown = set(exclude) - {f.name for f in msgspec.structs.fields(schema)}
    if unknown:
        raise TypeError(f"exclude names fields {schema.__name__} does not have: {sorted(unknown)}")
    return specs


def field_specs(cls: type) -> dict[str, FieldSpec]:
    """The fields of a form class: its annotations (inherited ones first), not ClassVars."""
    hints = typing.get_type_hints(cls, include_extras=True)
    specs: dict[str, FieldSpec] = {}
    for name, annotation in hints.items():
        if name.startswith("_") or get_origin(annotation) is typing.ClassVar:
            continue
        specs[name] = spec(name, annotation, cls.__dict__.get(name, _inherited(cls, name)))
    return specs


def with_widgets(
    specs: dict[str, FieldSpec], widgets: Mapping[str, Widget | str]
) -> dict[str, FieldSpec]:
    """``specs`` with the controls a form class chose (``widgets={"tags": "checkboxes"}``)."""
    unknown = set(widgets) - set(specs)
    if unknown:
        raise TypeError(f"widgets names fields the form does not have: {sorted(unknown)}")
    for name, widget in widgets.items():
        chosen = widget if isinstance(widget, Widget) else Widget(widget)
        attrs = {**specs[name].attrs, **chosen.attrs}
        specs[name] = dataclasses.replace(specs[name], widget=chosen.kind, attrs=attrs)
    return specs


def check_names(cls: type, specs: dict[str, FieldSpec], reserved: frozenset[str]) -> None:
    for name in specs:
        if name in reserved:
            raise TypeError(
                f"{cls.__name__}.{name}: a form field cannot be named {name!r} "
                "(the form itself uses that name)"
            )


def _inherited(cls: type, name: str) -> Any:
    for base in cls.__mro__[1:]:
        if name in base.__dict__:
            return base.__dict__[name]
    return NO_DEFAULT
