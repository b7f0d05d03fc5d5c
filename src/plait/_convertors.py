"""Path parameter convertors: one segment each (``int``, ``float``, ``str``, ``uuid``) or the rest
of the path (``path``). Register your own with :func:`register_convertor`."""

from __future__ import annotations

import math
import uuid
from typing import Any, ClassVar

__all__ = [
    "CONVERTORS",
    "Convertor",
    "FloatConvertor",
    "IntConvertor",
    "PathConvertor",
    "StringConvertor",
    "UUIDConvertor",
    "register_convertor",
]


class Convertor:
    """Turns a path segment into a value and back.

    ``convert`` raises :class:`ValueError` when the segment does not match, so the router
    tries the next candidate (and answers 404 if none fits). ``priority`` orders candidates at
    the same position: lower is tried first. ``regex`` documents the format (OpenAPI ``pattern``).
    """

    regex: ClassVar[str] = "[^/]+"
    priority: ClassVar[int] = 50
    matches_rest: ClassVar[bool] = False
    openapi_type: ClassVar[str] = "string"
    python_type: ClassVar[Any] = str

    def convert(self, value: str) -> Any:
        raise NotImplementedError

    def to_string(self, value: Any) -> str:
        return str(value)


class StringConvertor(Convertor):
    priority = 90

    def convert(self, value: str) -> str:
        if not value:
            raise ValueError("empty segment")
        return value

    def to_string(self, value: Any) -> str:
        text = str(value)
        if not text or "/" in text:
            raise ValueError(f"{text!r} is not a single non-empty path segment")
        return text


class IntConvertor(Convertor):
    regex = "[0-9]+"
    priority = 10
    openapi_type = "integer"
    python_type = int

    def convert(self, value: str) -> int:
        if not value.isascii() or not value.isdigit():
            raise ValueError("not a non-negative integer")
        return int(value)

    def to_string(self, value: Any) -> str:
        number = int(value)
        if number < 0:
            raise ValueError("negative integers cannot be used in an int path segment")
        return str(number)


class FloatConvertor(Convertor):
    regex = r"[0-9]+(\.[0-9]+)?"
    priority = 30
    openapi_type = "number"
    python_type = float

    def convert(self, value: str) -> float:
        if not value.isascii() or not value.replace(".", "", 1).isdigit():
            raise ValueError("not a non-negative decimal number")
        return float(value)

    def to_string(self, value: Any) -> str:
        number = float(value)
        if number < 0 or not math.isfinite(number):
            raise ValueError("float path segments must be finite and non-negative")
        return repr(number)


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


class UUIDConvertor(Convertor):
    regex = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
    priority = 20
    python_type = uuid.UUID

    def convert(self, value: str) -> uuid.UUID:
        # uuid.UUID() is lenient (hyphens anywhere, braces, "_" or "+" through int()): accept
        # only 32 hex digits, bare or hyphenated 8-4-4-4-12, as ``regex`` says.
        if len(value) == 36 and value[8] == value[13] == value[18] == value[23] == "-":
            value = value.replace("-", "")
        if len(value) != 32 or not _HEX_DIGITS.issuperset(value):
            raise ValueError("not a UUID")
        return uuid.UUID(value)


class PathConvertor(Convertor):
    """Matches the rest of the path, slashes included (``/files/{name:path}``)."""

    regex = ".*"
    priority = 100
    matches_rest = True

    def convert(self, value: str) -> str:
        return value


CONVERTORS: dict[str, Convertor] = {
    "str": StringConvertor(),
    "int": IntConvertor(),
    "float": FloatConvertor(),
    "uuid": UUIDConvertor(),
    "path": PathConvertor(),
}


def register_convertor(name: str, convertor: Convertor) -> None:
    """Make ``{param:name}`` usable in every route path registered afterwards."""
    if not name.isidentifier():
        raise ValueError(f"Convertor name {name!r} must be an identifier")
    CONVERTORS[name] = convertor
