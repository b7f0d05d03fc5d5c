"""``Form``: HTML forms declared with type hints, validated by msgspec, drawn as HTML."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar, Self

import msgspec
from markupsafe import Markup

from plait import FormData, Request, UploadFile
from plait.forms._boundfield import BoundField
from plait.forms._fields import (
    NO_DEFAULT,
    Choices,
    FieldSpec,
    Widget,
    check_names,
    field_specs,
    schema_specs,
    with_widgets,
)
from plait.forms._widgets import attributes, control_text

__all__ = ["Form"]

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
_KIND["decimal"] = "Enter a number."
_RESERVED = frozenset(
    {"add_error", "bound", "clean", "cleaned_data", "data", "errors", "fields", "initial", "schema"}
    | {"is_valid", "non_field_errors", "enctype", "request", "value", "hidden_fields", "prefix"}
    | {"changed_data", "has_changed", "set_choices", "load_choices", "add_prefix"}
)
_NUL_PATTERN = r"'^[^\\x00]*$'"  # plait.db's strings: no NUL (PostgreSQL refuses it)

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
        if field.widget not in _PATTERN_MESSAGES and _NUL_PATTERN in message:
            return "Null characters are not allowed."
        return _PATTERN_MESSAGES.get(field.widget, "Enter a valid value.")
    if message.startswith("Invalid enum value"):
        return "Select a valid choice."
    if message.startswith("Invalid UUID"):
        return "Enter a valid UUID."
    if "date" in message.lower() or "time" in message.lower():
        what = {"date": "date", "time": "time"}.get(field.widget, "date/time")
        return f"Enter a valid {what}."
    return message


def _as_sent(widget: str, text: str) -> str:
    """``text`` as a browser sends it back from the control: a textarea with its line breaks
    as CRLF (here LF), an input without line breaks (an e-mail or URL input also trimmed)."""
    if widget in ("textarea", "json"):
        return text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\r", "").replace("\n", "")
    return text.strip() if widget in ("email", "url") else text


def _initial(
    initial: Mapping[str, Any] | object | None, fields: Mapping[str, Any]
) -> dict[str, Any]:
    if initial is None:
        return {}
    if isinstance(initial, Mapping):
        return dict(initial)
    return {name: getattr(initial, name) for name in fields if hasattr(initial, name)}


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
        declared = field_specs(cls)
        # A schema's field named like the form's own attributes (a model's ``data`` column)
        # is read from cleaned_data only; a declared one must be renamed.
        check_names(cls, declared, _RESERVED)
        cls.fields = with_widgets({**base, **declared}, widgets or {})

    def __init__(
        self,
        data: Mapping[str, Any] | FormData | None = None,
        *,
        initial: Mapping[str, Any] | object | None = None,
        request: Request | None = None,
        prefix: str | None = None,
    ) -> None:
        self.data = data
        """What was submitted, or None for an unbound form."""
        self.initial: dict[str, Any] = _initial(initial, self.fields)
        """What an unbound form shows: from a mapping, or an object's attributes (a row)."""
        self.request = request
        self.prefix = prefix
        """Put before each field's name (``comment-0`` gives ``comment-0-body``): several
        forms in one ``<form>`` tag, such as the rows of a formset."""
        self._cleaned: dict[str, Any] = {}
        self._errors: dict[str, list[str]] | None = None
        self._choices: dict[str, tuple[tuple[str, str], ...]] = {}

    async def load_choices(self, session: Any) -> Self:
        """Read the choices of the fields that have them per request (:class:`Choices`, a
        model's relationships such as a bookmark's tags) with ``session``; call it before
        drawing or validating the form. Returns the form."""
        for field in self.fields.values():
            if field.source is not None and field.name not in self._choices:
                self._choices[field.name] = tuple(await field.source.load(session))
        return self

    def set_choices(self, name: str, choices: Sequence[tuple[Any, str]]) -> Self:
        """Give the field ``name`` its choices for this request: ``(key, label)`` pairs
        (:meth:`load_choices` leaves it alone then). Returns the form."""
        if name not in self.fields:
            raise KeyError(f"{type(self).__name__} has no field {name!r}")
        self._choices[name] = tuple((str(key), str(label)) for key, label in choices)
        self._errors = None  # validate against these choices
        return self

    def add_prefix(self, name: str) -> str:
        """The HTML name of the field ``name``: ``{prefix}-{name}`` with a prefix."""
        return f"{self.prefix}-{name}" if self.prefix else name

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

    def _posted(self, field: FieldSpec) -> list[Any]:
        data = self.data
        assert data is not None
        key = self.add_prefix(field.name)
        if isinstance(data, FormData):
            return data.getlist(key)
        value = data.get(key)
        return [] if value is None else value if isinstance(value, list) else [value]

    def _raw(self, field: FieldSpec) -> Any:
        values = self._posted(field)
        if field.is_file:
            values = [v for v in values if isinstance(v, UploadFile) and v.filename]
        else:
            if field.multiple and field.widget == "text":
                # Several values typed in one input: "python, web" (django-taggit's TagField).
                values = [part for v in values for part in str(v).split(",")]
            values = [v for v in values if isinstance(v, str)]  # a file where text belongs
            values = [v.strip() if field.widget != "password" else v for v in values]
            values = [v for v in values if v != ""]
        if field.multiple:
            return values
        return values[-1] if values else None

    def _keeps(self, field: FieldSpec) -> bool:
        """A write-only field of an edit form: blank keeps the stored value."""
        return field.keep_blank and self.initial.get(field.name) is not None

    def _full_clean(self) -> None:
        errors = self._errors
        assert errors is not None
        for field in self.fields.values():
            raw = self._raw(field)
            if raw is None or raw == []:
                if self._keeps(field):
                    continue  # left blank: the stored value stays
                if field.required:
                    errors[field.name] = ["This field is required."]
                elif field.default is not msgspec.UNSET:  # UNSET: the column's own default
                    self._cleaned[field.name] = copy.copy(field.default)
                continue
            value, error = self._convert(field, raw)
            if error is None and (unknown := self._not_a_choice(field, raw)) is not None:
                error = f"Select a valid choice. {unknown} is not one of the available choices."
            if error is not None:
                errors[field.name] = [error]
            else:
                self._cleaned[field.name] = value
        # As Django: clean() always runs, with the fields that passed in cleaned_data.
        self.clean()
        if not errors:
            for name, value in self._cleaned.items():
                if name not in _RESERVED:  # a schema's ``data`` field: cleaned_data only
                    setattr(self, name, value)

    def _convert(self, field: FieldSpec, raw: Any) -> tuple[Any, str | None]:
        """A submitted value (not blank) converted to the field's type, or the message."""
        if field.widget == "checkbox" and not field.multiple:
            raw = isinstance(raw, str) and raw.lower() not in _FALSE
        elif field.widget in ("datetime-local", "time") and _NO_SECONDS.search(raw):
            raw += ":00"
        elif field.widget == "url" and not _SCHEME.match(raw):
            # Django's URLField(assume_scheme="https"): "example.com" is https://example.com
            raw = ("https:" if raw.startswith("//") else "https://") + raw
        elif field.widget == "json":
            try:
                raw = json.loads(raw)
            except ValueError:
                return None, "Enter valid JSON."
        if field.aware and isinstance(raw, str) and not _OFFSET.search(raw):
            raw += "+00:00"
        try:
            return msgspec.convert(raw, field.type, strict=False), None
        except msgspec.ValidationError as exc:
            return None, _message(exc, field, raw)

    def _not_a_choice(self, field: FieldSpec, raw: Any) -> str | None:
        """The first submitted value the loaded choices of ``field`` don't offer."""
        choices = self._choices.get(field.name)
        if field.source is None or field.source.open:
            return None
        offered = {key for key, _ in choices or ()}
        if choices is None and not isinstance(field.source, Choices):
            return None  # a relation's choices not loaded: the database decides
        return next((v for v in (raw if field.multiple else [raw]) if v not in offered), None)

    # ------------------------------------------------------------------ changes

    @property
    def changed_data(self) -> list[str]:
        """The names of the fields whose submitted value differs from what the form showed
        (Django's ``changed_data``): a value sent back as it was shown is unchanged, though
        the browser dropped what the control could not show (microseconds, the spacing of
        a JSON document) — so an edit page can write only these, and a row saved untouched
        keeps every stored value as it was."""
        if not self.bound:
            return []
        return [name for name, field in self.fields.items() if self._changed(field)]

    def has_changed(self) -> bool:
        """Whether any field was changed (a blank extra row of a formset was not)."""
        return bool(self.changed_data)

    def _changed(self, field: FieldSpec) -> bool:
        initial = self._value(field, initial=True)
        if field.widget == "password" or field.is_file:
            return self._raw(field) not in (None, [])
        if field.widget == "checkbox" and not field.multiple:
            raw = self._raw(field)
            checked = isinstance(raw, str) and raw.lower() not in _FALSE
            return checked != (bool(initial) and _text_of(field, initial) not in _FALSE)
        if field.multiple:
            items = initial if isinstance(initial, list | tuple | set | frozenset) else []
            posted = self._raw(field)
            return sorted(map(str, posted)) != sorted(_text_of(field, v) for v in items)
        posted = [v for v in self._posted(field) if isinstance(v, str)]
        sent = posted[-1] if posted else ""
        shown = _text_of(field, initial)
        if _as_sent(field.widget, sent) == _as_sent(field.widget, shown):
            return False
        before, after = sent.strip(), _as_sent(field.widget, shown).strip()
        if not before or not after:
            return before != after
        new, error = self._convert(field, before)
        old, old_error = self._convert(field, after)
        return error is not None or old_error is not None or bool(new != old)

    # ------------------------------------------------------------------ drawing

    def value(self, name: str) -> Any:
        """What the field ``name`` shows: the submitted value, else initial, else default."""
        value = self._value(self.fields[name])
        if self.fields[name].widget == "text" and isinstance(value, list | tuple):
            return ", ".join(str(item) for item in value)  # several values in one input
        return value

    def _value(self, field: FieldSpec, *, initial: bool = False) -> Any:
        name = field.name
        if self.bound and not initial:
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
        return (self._bound(spec) for spec in self.fields.values())

    def __getitem__(self, name: str) -> BoundField:
        return self._bound(self.fields[name])

    def _bound(self, spec: FieldSpec) -> BoundField:
        choices = self._choices.get(spec.name)
        if choices is not None:
            spec = dataclasses.replace(spec, choices=choices)
        return BoundField(self, spec, keeps=self._keeps(spec))

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


def _text_of(field: FieldSpec, value: Any) -> str:
    """What the control of ``field`` shows for ``value``."""
    return control_text(field, value)
