"""Constraints the schemas take from the database: CHECKs, and bounds stated on a column.

The database enforces ``CheckConstraint("views >= 0")`` and ``CheckConstraint("length(name)
>= 1")``; the derived schemas say the same, so a client learns it from the OpenAPI document
and gets a 422 naming the field instead of a constraint violation. Bounds can also be stated
on the column alone, for the schemas: ``mapped_column(info={"min_length": 1})``.
"""

from __future__ import annotations

import re
import types
import typing
from typing import Annotated, Any, Union, get_args, get_origin

import msgspec
import sqlalchemy as sa

from plait._signature import split_annotated

__all__ = ["Refinable", "check_bounds", "numeric", "string_meta"]

_NUMBER = r"(-?\d+(?:\.\d+)?)"
_CHECK = re.compile(r'^\s*\(?\s*"?(\w+)"?\s*(>=|<=|>|<)\s*' + _NUMBER + r"\s*\)?\s*$")
_LENGTH = re.compile(
    r'^\s*\(?\s*(?:char_|character_)?length\s*\(\s*"?(\w+)"?\s*\)\s*(>=|<=|>|<|=)\s*(\d+)\s*\)?\s*$',
    re.IGNORECASE,
)
_NOT_EMPTY = re.compile(r"""^\s*\(?\s*"?(\w+)"?\s*(?:<>|!=)\s*''\s*\)?\s*$""")
_AND = re.compile(r"\s+AND\s+", re.IGNORECASE)
_INFO_KEYS = ("ge", "gt", "le", "lt", "min_length", "max_length")
_LOWER = ("ge", "gt", "min_length")


def _keep(bounds: dict[str, Any], key: str, value: Any) -> None:
    """Record a bound, keeping the tighter of two."""
    previous = bounds.get(key)
    if previous is None:
        bounds[key] = value
    else:
        bounds[key] = max(previous, value) if key in _LOWER else min(previous, value)


def _length_bounds(op: str, number: int) -> list[tuple[str, int]]:
    return {
        ">=": [("min_length", number)],
        ">": [("min_length", number + 1)],
        "<=": [("max_length", number)],
        "<": [("max_length", number - 1)],
        "=": [("min_length", number), ("max_length", number)],
    }[op]


def _parse(part: str, name: str) -> list[tuple[str, Any]]:
    if (match := _CHECK.match(part)) is not None and match.group(1) == name:
        number = float(match.group(3))
        value = int(number) if number.is_integer() else number
        return [({">=": "ge", ">": "gt", "<=": "le", "<": "lt"}[match.group(2)], value)]
    if (match := _LENGTH.match(part)) is not None and match.group(1) == name:
        return _length_bounds(match.group(2), int(match.group(3)))
    if (match := _NOT_EMPTY.match(part)) is not None and match.group(1) == name:
        return [("min_length", 1)]
    return []


def check_bounds(column: sa.Column[Any]) -> dict[str, Any]:
    """Bounds on ``column``: from simple CHECK constraints (``views >= 0``,
    ``length(name) >= 1``, ``name <> \'\'``, joined by ``AND``) and from its ``info``
    (``min_length``, ``max_length``, ``ge``, ``gt``, ``le``, ``lt``). Anything more complex
    is left to the database."""
    bounds: dict[str, Any] = {}
    table = getattr(column, "table", None)
    for constraint in getattr(table, "constraints", ()):
        if not isinstance(constraint, sa.CheckConstraint):
            continue
        for part in _AND.split(str(constraint.sqltext)):
            for key, value in _parse(part, column.name):
                _keep(bounds, key, value)
    for key in _INFO_KEYS:
        if column.info.get(key) is not None:
            _keep(bounds, key, column.info[key])
    return bounds


def string_meta(length: int | None, checks: dict[str, Any], pattern: str) -> msgspec.Meta:
    """A string's constraints: the column's length, length checks, and ``pattern``."""
    bounds: dict[str, Any] = {}
    if length:
        bounds["max_length"] = length
    for key in ("min_length", "max_length"):
        if key in checks:
            _keep(bounds, key, checks[key])
    return msgspec.Meta(pattern=pattern, **bounds)


def numeric(
    python_type: type, lower: float | None, upper: float | None, checks: dict[str, Any]
) -> Any:
    """``python_type`` bounded by its column type's range and by CHECK constraints."""
    low = ("ge", lower) if lower is not None else None
    high = ("le", upper) if upper is not None else None
    for key, value in checks.items():
        if key not in ("ge", "gt", "le", "lt"):
            continue
        if python_type is int and key in ("gt", "lt") and float(value).is_integer():
            # Integers: "> 0" is ">= 1", which reads better in the schema.
            key, value = ("ge", int(value) + 1) if key == "gt" else ("le", int(value) - 1)
        if key in ("ge", "gt"):
            if low is None or value > low[1] or (value == low[1] and key == "gt"):
                low = (key, value)
        elif high is None or value < high[1] or (value == high[1] and key == "lt"):
            high = (key, value)
    bounds = dict(bound for bound in (low, high) if bound is not None)
    if not bounds:
        return python_type
    return Annotated[python_type, msgspec.Meta(**bounds)]  # type: ignore[call-overload]


_META_KEYS = (
    "gt",
    "ge",
    "lt",
    "le",
    "multiple_of",
    "pattern",
    "min_length",
    "max_length",
    "tz",
    "title",
    "description",
    "examples",
    "extra_json_schema",
    "extra",
)


def _meta_values(metas: list[Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for meta in metas:
        if isinstance(meta, msgspec.Meta):
            found.update({k: getattr(meta, k) for k in _META_KEYS if getattr(meta, k) is not None})
    return found


def _both_patterns(inherited: str, refined: str) -> str:
    """One pattern matching what both match (msgspec allows one per field)."""
    ahead = inherited[1:] if inherited.startswith("^") else ".*?" + inherited
    return f"^(?={ahead})[\\s\\S]*?(?:{refined})"


def _merged(inherited: Any, refined: Any) -> Any:
    """``refined`` keeping the constraints of ``inherited`` it does not restate."""
    if get_origin(refined) in (Union, types.UnionType):
        members = tuple(_merged(inherited, member) for member in get_args(refined))
        return Union[members]  # noqa: UP007
    bare, metas = split_annotated(refined)
    old_bare, old_metas = split_annotated(inherited)
    if get_origin(old_bare) in (Union, types.UnionType):
        same = [m for m in get_args(old_bare) if split_annotated(m)[0] == bare]
        if not same:
            return refined
        old_bare, more = split_annotated(same[0])
        old_metas = [*old_metas, *more]
    if old_bare != bare:
        return refined
    new = _meta_values(metas)
    kept = {k: v for k, v in _meta_values(old_metas).items() if k not in new}
    if "pattern" in new and "pattern" in _meta_values(old_metas):
        old_pattern = _meta_values(old_metas)["pattern"]
        if old_pattern != new["pattern"]:
            kept["pattern"] = _both_patterns(old_pattern, new["pattern"])
            metas = [_without(m, "pattern") for m in metas]
    if not kept:
        return refined
    return Annotated[(bare, msgspec.Meta(**kept), *metas)]


def _without(meta: Any, key: str) -> Any:
    if not isinstance(meta, msgspec.Meta) or getattr(meta, key) is None:
        return meta
    values = {k: getattr(meta, k) for k in _META_KEYS if getattr(meta, k) is not None}
    values.pop(key)
    return msgspec.Meta(**values)


class Refinable(msgspec.Struct):
    """The base of the derived schemas: a subclass that re-declares a field keeps the
    constraints it does not restate (``name: Annotated[str, Meta(min_length=1)]`` on a
    subclass of ``Item.Create`` still refuses NUL and keeps ``max_length``)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # The class's own dict, changed in place before msgspec reads it (get_annotations
        # would give a copy).
        declared = cls.__dict__.get("__annotations__", {})  # noqa: RUF063
        if declared:
            try:
                inherited = typing.get_type_hints(cls.__mro__[1], include_extras=True)
                refined = typing.get_type_hints(cls, include_extras=True)
            except (NameError, TypeError):  # names only the defining function knows
                inherited, refined = {}, {}
            for name in declared:
                if name in inherited and name in refined:
                    declared[name] = _merged(inherited[name], refined[name])
        super().__init_subclass__(**kwargs)
