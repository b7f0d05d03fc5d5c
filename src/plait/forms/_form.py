"""``Form``: HTML forms declared with type hints, validated by msgspec, drawn as HTML."""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar, Self

import msgspec
from markupsafe import Markup

from plait import FormData, Request, UploadFile
from plait.forms._fields import (
    NO_DEFAULT,
    FieldSpec,
    Widget,
    check_names,
    field_specs,
    schema_specs,
    with_widgets,
)
from plait.forms._widgets import attributes, render_input, render_row

__all__ = ["BoundField", "Form"]

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_FALSE = frozenset({"", "0", "off", "false", "no"})
_LENGTH = re.compile(r"^Expected `str` of length ([<>]=) (\d+)")
_BOUND = re.compile(r"^Expected `(?:int|float)` ([<>]=?) (\S+)")
_WORDS = {">=": "greater than or equal to", "<=": "less than or equal to", ">": "greater than"}
_WORDS["<"] = "less than"
_NO_SECONDS = re.compile(r"(?:^|T)\d\d:\d\d$")  # what <input type="datetime-local"/"time"> send
_OFFSET = re.compile(r"(?:Z|[+-]\d\d:?\d\d)$", re.IGNORECASE)
_PATTERN_MESSAGES = {"email": "Enter a valid email address.", "url": "Enter a valid URL."}
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_KIND = {"int": "Enter a whole number.", "float": "Enter a number.", "bool": "Enter yes or no."}
_RESERVED = frozenset(
    {"add_error", "bound", "clean", "cleaned_data", "data", "errors", "fields", "initial", "schema"}
    | {"is_valid", "non_field_errors", "enctype", "request", "value", "hidden_fields"}
)

NON_FIELD = "__all__"
"""The key of :attr:`Form.errors` for errors about the form as a whole."""


def _message(exc: msgspec.ValidationError, field: FieldSpec, raw: Any) -> str:
    """msgspec's message, said the way a form says it to a person (Django's wording)."""
    message = str(exc).split(" - at `", 1)[0]
    if match := _LENGTH.match(message):
        least = match.group(1) == ">="
        size = len(raw) if isinstance(raw, str) else 0
        return (
            f"Ensure this value has {'at least' if least else 'at most'} {match.group(2)} "
            f"characters (it has {size})."
        )
    if match := _BOUND.match(message):
        return f"Ensure this value is {_WORDS[match.group(1)]} {match.group(2)}."
    if kind := re.match(r"^Expected `(\w+)`, got", message):
        return _KIND.get(kind.group(1), "Enter a valid value.")
    if "matching regex" in message:
        return _PATTERN_MESSAGES.get(field.widget, "Enter a valid value.")
    if message.startswith("Invalid enum value"):
        return "Select a valid choice."
    if "date" in message.lower() or "time" in message.lower():
        what = {"date": "date", "time": "time"}.get(field.widget, "date and time")
        return f"Enter a valid {what}."
    return message


def _initial(
    initial: Mapping[str, Any] | object | None, fields: Mapping[str, Any]
) -> dict[str, Any]:
    if initial is None:
        return {}
    if isinstance(initial, Mapping):
        return dict(initial)
    return {name: getattr(initial, name) for name in fields if hasattr(initial, name)}


class BoundField:
    """One field of a form with its value and errors; ``{{ field }}`` draws the whole row."""

    __slots__ = ("errors", "form", "spec")

    def __init__(self, form: Form, spec: FieldSpec) -> None:
        self.form = form
        choices = form._choices.get(spec.name)
        self.spec = spec if choices is None else dataclasses.replace(spec, choices=choices)
        self.errors: list[str] = form.errors.get(spec.name, [])

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def value(self) -> Any:
        """What the control shows: the submitted value, else the initial one."""
        return self.form.value(self.spec.name)

    @property
    def input(self) -> Markup:
        """The control alone (``<input>``, ``<textarea>``, ``<select>``)."""
        return render_input(self.spec, self.value, bool(self.errors))

    def __html__(self) -> str:
        return str(render_row(self.spec, self.value, self.errors))

    def __str__(self) -> str:
        return self.__html__()


class Form:
    """An HTML form, declared like a msgspec Struct and used like a Django form::

        from typing import Annotated
        from msgspec import Meta
        from plait import forms

        class PostForm(forms.Form):
            title: Annotated[str, Meta(max_length=200)]
            body: forms.TextArea
            published: bool = False

        @app.post("/posts")
        async def create(request: Request, form: PostForm):
            if not form.is_valid():
                return templates.render(request, "post_form.html", {"form": form})
            ...  # form.title, form.body, form.published are the cleaned values

    A handler parameter annotated with a form class gets it bound to the request's form on
    POST/PUT/PATCH/DELETE, unbound (empty, initial values) on GET. Validation happens on the
    first :meth:`is_valid`/:attr:`errors`; then each field is an attribute of the form holding
    its converted value, and :attr:`cleaned_data` holds them all. Override :meth:`clean` for
    checks across fields; call :meth:`add_error` for checks made in the handler (a username
    already taken). ``{{ form }}`` in a template draws every field — label, control with the
    constraints browsers check (``required``, ``maxlength``, ``min``…), help text and errors —
    plus the CSRF token input when the CSRF middleware is installed.
    """

    fields: ClassVar[dict[str, FieldSpec]] = {}
    schema: ClassVar[type[msgspec.Struct] | None] = None

    def __init_subclass__(
        cls,
        *,
        schema: type[msgspec.Struct] | None = None,
        exclude: Sequence[str] = (),
        widgets: Mapping[str, Widget | str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init_subclass__(**kwargs)
        if schema is not None:
            cls.schema = schema
        base = schema_specs(cls.schema, exclude) if cls.schema is not None else {}
        cls.fields = with_widgets({**base, **field_specs(cls)}, widgets or {})
        check_names(cls, cls.fields, _RESERVED)

    def __init__(
        self,
        data: Mapping[str, Any] | FormData | None = None,
        *,
        initial: Mapping[str, Any] | object | None = None,
        request: Request | None = None,
    ) -> None:
        self.data = data
        """What was submitted, or None for an unbound form."""
        self.initial: dict[str, Any] = _initial(initial, self.fields)
        """What an unbound form shows: from a mapping, or an object's attributes (a row)."""
        self.request = request
        self._cleaned: dict[str, Any] = {}
        self._errors: dict[str, list[str]] | None = None
        self._choices: dict[str, tuple[tuple[str, str], ...]] = {}

    async def load_choices(self, session: Any) -> Self:
        """Read the choices of the fields that come from the database (a model's
        relationships, such as a bookmark's tags) with ``session``; call it before drawing
        or validating the form. Returns the form."""
        for field in self.fields.values():
            if field.source is not None:
                self._choices[field.name] = tuple(await field.source.load(session))
        return self

    @classmethod
    async def __plait_depends__(cls, request: Request) -> Self:
        """Bind to the request's form for unsafe methods, unbound for GET/HEAD/OPTIONS."""
        if request.method in _SAFE_METHODS:
            return cls(request=request)
        return cls(await request.form(), request=request)

    # ------------------------------------------------------------------ validation

    @property
    def bound(self) -> bool:
        return self.data is not None

    @property
    def errors(self) -> dict[str, list[str]]:
        """Messages per field name (``"__all__"`` for the form as a whole); validates once."""
        if self._errors is None:
            self._errors = {}
            if self.bound:
                self._full_clean()
        return self._errors

    @property
    def cleaned_data(self) -> dict[str, Any]:
        """The converted value of every valid field (validates first, once)."""
        _ = self.errors
        return self._cleaned

    @property
    def non_field_errors(self) -> list[str]:
        return self.errors.get(NON_FIELD, [])

    def is_valid(self) -> bool:
        """Whether the bound form passed every check (an unbound form never does)."""
        return self.bound and not self.errors

    def add_error(self, field: str | None, message: str) -> None:
        """Record an error on ``field`` (None: the whole form); the form becomes invalid."""
        if field is not None and field not in self.fields:
            raise KeyError(f"{type(self).__name__} has no field {field!r}")
        self.errors.setdefault(field or NON_FIELD, []).append(message)
        if field is not None:
            self._cleaned.pop(field, None)

    def clean(self) -> None:
        """Checks across fields; call :meth:`add_error` for what fails.

        As Django's ``Form.clean``, it always runs once the fields are converted, even when
        some failed: :attr:`cleaned_data` then holds only the fields that passed, so read
        it with ``.get()``.
        """

    def _raw(self, field: FieldSpec) -> Any:
        data = self.data
        assert data is not None
        if isinstance(data, FormData):
            values: list[Any] = data.getlist(field.name)
        else:
            value = data.get(field.name)
            values = [] if value is None else value if isinstance(value, list) else [value]
        if field.is_file:
            values = [v for v in values if isinstance(v, UploadFile) and v.filename]
        else:
            if field.multiple and field.widget == "text":
                # Several values typed in one input: "python, web" (django-taggit's TagField).
                values = [part for v in values for part in str(v).split(",")]
            values = [v.strip() if field.widget != "password" else v for v in values]
            values = [v for v in values if v != ""]
        if field.multiple:
            return values
        return values[-1] if values else None

    def _full_clean(self) -> None:
        errors = self._errors
        assert errors is not None
        for field in self.fields.values():
            raw = self._raw(field)
            if raw is None or raw == []:
                if field.required:
                    errors[field.name] = ["This field is required."]
                elif field.default is not msgspec.UNSET:  # UNSET: the column's own default
                    self._cleaned[field.name] = copy.copy(field.default)
                continue
            if field.widget == "checkbox" and not field.multiple:
                raw = isinstance(raw, str) and raw.lower() not in _FALSE
            elif field.widget in ("datetime-local", "time") and _NO_SECONDS.search(raw):
                raw += ":00"
            elif field.widget == "url" and not _SCHEME.match(raw):
                # Django's URLField(assume_scheme="https"): "example.com" is https://example.com
                raw = ("https:" if raw.startswith("//") else "https://") + raw
            if field.aware and isinstance(raw, str) and not _OFFSET.search(raw):
                raw += "+00:00"
            try:
                value = msgspec.convert(raw, field.type, strict=False)
            except msgspec.ValidationError as exc:
                errors[field.name] = [_message(exc, field, raw)]
                continue
            if (unknown := self._not_a_choice(field, raw)) is not None:
                errors[field.name] = [
                    f"Select a valid choice. {unknown} is not one of the available choices."
                ]
                continue
            self._cleaned[field.name] = value
        # As Django: clean() always runs, with the fields that passed in cleaned_data.
        self.clean()
        if not errors:
            for name, value in self._cleaned.items():
                setattr(self, name, value)

    def _not_a_choice(self, field: FieldSpec, raw: Any) -> str | None:
        """The first submitted value the loaded choices of ``field`` don't offer."""
        choices = self._choices.get(field.name)
        if choices is None or field.source.open:
            return None
        offered = {key for key, _ in choices}
        return next((v for v in (raw if field.multiple else [raw]) if v not in offered), None)

    # ------------------------------------------------------------------ drawing

    def value(self, name: str) -> Any:
        """What the field ``name`` shows: the submitted value, else initial, else default."""
        value = self._value(self.fields[name])
        if self.fields[name].widget == "text" and isinstance(value, list | tuple):
            return ", ".join(str(item) for item in value)  # several values in one input
        return value

    def _value(self, field: FieldSpec) -> Any:
        name = field.name
        if self.bound:
            raw = self._raw(field)
            return raw if field.widget != "checkbox" or field.multiple else raw is not None
        if name in self.initial:
            value = self.initial[name]
            if field.source is not None and value is not None:
                # Rows (a bookmark's tags) are shown as the keys the choices use.
                items = value if isinstance(value, list | tuple | set) else [value]
                keys = [field.source.key_of(item) for item in items]
                return keys if field.multiple else keys[0]
            return value
        return None if field.default in (NO_DEFAULT, msgspec.UNSET) else field.default

    def __iter__(self) -> Iterator[BoundField]:
        return (BoundField(self, spec) for spec in self.fields.values())

    def __getitem__(self, name: str) -> BoundField:
        return BoundField(self, self.fields[name])

    @property
    def enctype(self) -> str:
        """The ``<form enctype>`` this form needs: multipart when it has a file field."""
        if any(f.is_file for f in self.fields.values()):
            return "multipart/form-data"
        return "application/x-www-form-urlencoded"

    def csrf_input(self) -> Markup:
        """The hidden CSRF token input, when the request went through the CSRF middleware."""
        token = self.request.scope.get("csrf_token") if self.request is not None else None
        if token is None:
            return Markup("")
        values = {"type": "hidden", "name": "csrf_token", "value": token()}
        return Markup("<input{}>").format(attributes(values))

    def __html__(self) -> str:
        errors = self.non_field_errors
        head = (
            Markup('<ul class="errors">{}</ul>').format(
                Markup("").join(Markup("<li>{}</li>").format(e) for e in errors)
            )
            if errors
            else Markup("")
        )
        rows = Markup("").join(Markup(field.__html__()) for field in self)
        return str(self.csrf_input() + head + rows)

    def __str__(self) -> str:
        return self.__html__()

    def __repr__(self) -> str:
        state = "unbound" if not self.bound else "valid" if not self.errors else "invalid"
        return f"<{type(self).__name__} {state}>"
