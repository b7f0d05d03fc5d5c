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


def collect_errors(
    data: Any, tp: Any, loc: list[str | int], *, strict: bool = True
) -> list[ValidationErrorItem]:
    """Every validation error of ``data`` (decoded JSON) against ``tp``, with locations.

    ``strict=False`` accepts strings for numbers and booleans, as form fields hold only strings.
    """
    try:
        msgspec.convert(data, tp, strict=strict)
        return []
    except msgspec.ValidationError as exc:
        first = from_msgspec(exc, loc)
    base = _strip(tp)
    origin = get_origin(base)
    if origin is Union or origin is types.UnionType:
        members = [a for a in get_args(base) if a is not type(None)]
        if len(members) == 1 and data is not None:
            return collect_errors(data, members[0], loc, strict=strict)
        return [first]
    fields = model_fields(base) if isinstance(base, type) else None
    if fields is not None and isinstance(data, dict):
        errors: list[ValidationErrorItem] = []
        for name, hint, required in fields:
            if name not in data:
                if required:
                    errors.append(error_item([*loc, name], "Field required", "missing"))
                continue
            errors.extend(collect_errors(data[name], hint, [*loc, name], strict=strict))
        if (
            isinstance(base, type)
            and issubclass(base, msgspec.Struct)
            and base.__struct_config__.forbid_unknown_fields
        ):
            known = {name for name, _, _ in fields}
            errors.extend(
                error_item([*loc, key], "Unknown field", "extra_forbidden")
                for key in data
                if key not in known
            )
        return errors or [first]
    if origin in (list, set, frozenset) and isinstance(data, list):
        (item_type,) = get_args(base) or (Any,)
        errors = []
        for index, item in enumerate(data):
            errors.extend(collect_errors(item, item_type, [*loc, index], strict=strict))
        # Length constraints live on the outer type: keep the first error if items were fine.
        return errors or [first]
    if origin is dict and isinstance(data, dict):
        _, value_type = get_args(base) or (Any, Any)
        errors = []
        for key, value in data.items():
            errors.extend(collect_errors(value, value_type, [*loc, key], strict=strict))
        return errors or [first]
    return [first]


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
    from pydantic import TypeAdapter

    return TypeAdapter(tp).validate_python
