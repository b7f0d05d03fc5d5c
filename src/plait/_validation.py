"""Turning msgspec (and Pydantic) validation failures into located, human-readable errors.

msgspec stops at the first invalid value; when a body fails, :func:`collect_errors` walks the
decoded document against the type to report *every* invalid field, so one 422 lists them all.
This slow path runs only after the fast one-pass decode has failed.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints

import msgspec

from plait._exceptions import HTTPException

__all__ = [
    "MAX_ERRORS",
    "MAX_WALK",
    "ValidationErrorItem",
    "collect_errors",
    "error_item",
    "from_msgspec",
    "from_pydantic",
    "model_fields",
    "pydantic_validator",
    "validation_error",
]

ValidationErrorItem = dict[str, Any]
_AT = re.compile(r" - at `\$(.*)`$")
_SEGMENT = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def _split_location(message: str) -> tuple[str, list[str | int]]:
    match = _AT.search(message)
    if match is None:
        return message, []
    path: list[str | int] = []
    for name, index in _SEGMENT.findall(match.group(1)):
        path.append(int(index) if index else name)
    return message[: match.start()], path


def error_item(loc: Sequence[str | int], msg: str, kind: str = "invalid") -> ValidationErrorItem:
    return {"loc": list(loc), "msg": msg, "type": kind}


def from_msgspec(exc: msgspec.ValidationError, loc: Sequence[str | int]) -> ValidationErrorItem:
    message, sub = _split_location(str(exc))
    kind = "missing" if message.startswith("Object missing required field") else "invalid"
    if kind == "missing":
        field = message.rpartition("`")[0].rpartition("`")[2]
        return error_item([*loc, *sub, field], "Field required", "missing")
    return error_item([*loc, *sub], message, kind)


def validation_error(errors: list[ValidationErrorItem]) -> HTTPException:
    """The 422 problem document listing every invalid field with its location."""
    detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors)
    return HTTPException(
        422,
        detail,
        title="Validation Error",
        extra={"errors": errors},
    )


def _strip(tp: Any) -> Any:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    return tp


def model_fields(tp: Any) -> list[tuple[str, Any, bool]] | None:
    """``(encoded name, annotated type, required)`` of a Struct/dataclass/TypedDict."""
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        hints = get_type_hints(tp, include_extras=True)
        info = msgspec.structs.fields(tp)
        return [(f.encode_name, hints[f.name], f.required) for f in info]
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        hints = get_type_hints(tp, include_extras=True)
        return [
            (
                f.name,
                hints[f.name],
                f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
            )
            for f in dataclasses.fields(tp)
        ]
    if typing.is_typeddict(tp):
        hints = get_type_hints(tp, include_extras=True)
        required = getattr(tp, "__required_keys__", frozenset(hints))
        return [(name, hint, name in required) for name, hint in hints.items()]
    return None


MAX_ERRORS = 100
"""The most validation errors one 422 lists; one more item says the list was cut short."""
MAX_WALK = 10_000
"""The most values :func:`collect_errors` looks at (each one a C-speed ``msgspec.convert``):
the error path of a large body costs a bounded walk, not one Python step per value."""


def collect_errors(
    data: Any, tp: Any, loc: list[str | int], *, strict: bool = True
) -> list[ValidationErrorItem]:
    """Every validation error of ``data`` (decoded JSON) against ``tp``, with locations, up
    to :data:`MAX_ERRORS` errors and :data:`MAX_WALK` values looked at.

    ``strict=False`` accepts strings for numbers and booleans, as form fields hold only strings.
    """
    budget = [MAX_ERRORS, MAX_WALK]
    errors = _collect(data, tp, loc, strict, budget)
    if budget[0] <= 0 or budget[1] <= 0:
        errors = errors[:MAX_ERRORS]
        errors.append(
            error_item(
                loc, f"Too many errors: only the first {len(errors)} are listed", "too_many_errors"
            )
        )
    return errors


def _collect(
    data: Any, tp: Any, loc: list[str | int], strict: bool, budget: list[int]
) -> list[ValidationErrorItem]:
    budget[1] -= 1
    try:
        msgspec.convert(data, tp, strict=strict)
        return []
    except msgspec.ValidationError as exc:
        first = from_msgspec(exc, loc)
    base = _strip(tp)
    origin = get_origin(base)
    errors: list[ValidationErrorItem] = []
    if origin is Union or origin is types.UnionType:
        members = [a for a in get_args(base) if a is not type(None)]
        if len(members) == 1 and data is not None:
            return _collect(data, members[0], loc, strict, budget)
    elif isinstance(data, dict) and (fields := _fields(base)) is not None:
        for name, hint, required in fields:
            if budget[0] <= 0 or budget[1] <= 0:
                return errors
            if name not in data:
                if required:
                    errors.append(error_item([*loc, name], "Field required", "missing"))
                    budget[0] -= 1
                continue
            errors.extend(_collect(data[name], hint, [*loc, name], strict, budget))
        if (
            isinstance(base, type)
            and issubclass(base, msgspec.Struct)
            and base.__struct_config__.forbid_unknown_fields
        ):
            known = {name for name, _, _ in fields}
            for key in data:
                if key not in known and budget[0] > 0:
                    errors.append(error_item([*loc, key], "Unknown field", "extra_forbidden"))
                    budget[0] -= 1
    elif origin in (list, set, frozenset) and isinstance(data, list):
        (item_type,) = get_args(base) or (Any,)
        for index, item in enumerate(data):
            if budget[0] <= 0 or budget[1] <= 0:
                return errors
            errors.extend(_collect(item, item_type, [*loc, index], strict, budget))
    elif origin is dict and isinstance(data, dict):
        _, value_type = get_args(base) or (Any, Any)
        for key, value in data.items():
            if budget[0] <= 0 or budget[1] <= 0:
                return errors
            errors.extend(_collect(value, value_type, [*loc, key], strict, budget))
    elif type(data) is float and data.is_integer() and _whole_is_valid(data, tp, strict):
        return []  # 3.0 for an int, in a body too large for the integral retry
    if errors:
        return errors
    if first["msg"].endswith("got `float`") and (origin is not None or _fields(base)):
        return []  # the float it stopped at was a whole one, and its item passed
    # Constraints on the value as a whole (a length, a union) or a leaf: the first error.
    budget[0] -= 1
    return [first]


def _whole_is_valid(data: float, tp: Any, strict: bool) -> bool:
    try:
        msgspec.convert(int(data), tp, strict=strict)
    except msgspec.ValidationError:
        return False
    return True


_FIELDS: dict[Any, list[tuple[str, Any, bool]] | None] = {}


def _fields(tp: Any) -> list[tuple[str, Any, bool]] | None:
    """:func:`model_fields`, worked out once per type (the walk asks for every value)."""
    if not isinstance(tp, type):
        return None
    try:
        return _FIELDS[tp]
    except KeyError:
        fields = _FIELDS[tp] = model_fields(tp)
        return fields


def from_pydantic(exc: Any, loc: Sequence[str | int]) -> list[ValidationErrorItem]:
    """Errors of a ``pydantic.ValidationError``, relocated under ``loc``."""
    return [
        error_item(
            [*loc, *err.get("loc", ())], err.get("msg", "Invalid value"), err.get("type", "invalid")
        )
        for err in exc.errors(include_url=False)
    ]


def pydantic_validator(tp: Any) -> Callable[[Any], Any]:
    """A function validating decoded data against ``tp``, a type mentioning a Pydantic model.

    Pydantic is imported here only: the app declared a model, so it is already loaded.
    """
    base = _strip(tp)
    if isinstance(base, type) and hasattr(base, "model_validate"):
        validate: Callable[[Any], Any] = base.model_validate
        return validate
    from pydantic import TypeAdapter  # optional: the app declared a Pydantic model

    return TypeAdapter(tp).validate_python
