"""JSON Schemas for every type an OpenAPI document mentions, generated in one pass.

The operation builders ask :meth:`SchemaRegistry.schema` for a type's schema while they walk
the routes and get back an empty dict; :meth:`SchemaRegistry.resolve` then asks msgspec for
all the types at once (so shared Structs, dataclasses, enums… become one component each) and
fills those dicts in. Pydantic models reach msgspec's ``schema_hook`` and are documented with
their own ``model_json_schema``; pydantic itself is never imported.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import msgspec

from plait._datastructures import UploadFile

__all__ = [
    "BINARY",
    "REF_PREFIX",
    "SchemaRegistry",
    "add_enum_types",
    "clean_component_names",
    "markdown_descriptions",
]

REF_PREFIX = "#/components/schemas/"
_REF_TEMPLATE = REF_PREFIX + "{name}"
_COMPONENT_NAME = re.compile(r"^[A-Za-z0-9._-]+$")

BINARY: dict[str, Any] = {
    "type": "string",
    "format": "binary",
    "contentMediaType": "application/octet-stream",
}
"""An uploaded file (``format: binary`` for OpenAPI 3.0 tools, ``contentMediaType`` for 3.1)."""

Fixup = Callable[[dict[str, Any]], None]


class SchemaRegistry:
    """Collects types, then turns them into schemas and deduplicated components."""

    def __init__(self) -> None:
        self._pending: list[tuple[dict[str, Any], Any, Fixup | None]] = []
        self._extra: dict[str, Any] = {}

    def schema(self, tp: Any, fixup: Fixup | None = None) -> dict[str, Any]:
        """A dict that :meth:`resolve` fills with ``tp``'s schema (then calls ``fixup`` on it)."""
        slot: dict[str, Any] = {}
        self._pending.append((slot, tp, fixup))
        return slot

    def resolve(self) -> dict[str, Any]:
        """Fill every requested schema in; return the components they refer to."""
        types = [tp for _, tp, _ in self._pending]
        schemas: Sequence[dict[str, Any]]
        try:
            schemas, components = msgspec.json.schema_components(
                types, schema_hook=self._hook, ref_template=_REF_TEMPLATE
            )
        except (TypeError, ValueError):
            schemas, components = self._one_by_one(types)
        for (slot, _, fixup), schema in zip(self._pending, schemas, strict=True):
            slot.update(schema)
            if fixup is not None:
                fixup(slot)
        for name, schema in self._extra.items():
            components.setdefault(name, schema)
        return dict(sorted(components.items()))

    def _one_by_one(self, types: list[Any]) -> tuple[list[Any], dict[str, Any]]:
        """Slow path when one type can't be documented: that one becomes ``{}`` (any value)."""
        schemas: list[Any] = []
        components: dict[str, Any] = {}
        for tp in types:
            try:
                (schema,), found = msgspec.json.schema_components(
                    [tp], schema_hook=self._hook, ref_template=_REF_TEMPLATE
                )
            except (TypeError, ValueError):
                schema, found = {}, {}
            schemas.append(schema)
            components.update(found)
        return schemas, components

    def _hook(self, tp: Any) -> dict[str, Any]:
        if tp is UploadFile:
            return dict(BINARY)
        if isinstance(tp, type) and hasattr(tp, "model_json_schema"):
            return self._pydantic(tp)
        # A type msgspec can't describe (an ORM class, a custom object): any value.
        return {}

    def _pydantic(self, model: Any) -> dict[str, Any]:
        schema: dict[str, Any] = model.model_json_schema(ref_template=REF_PREFIX + "{model}")
        self._extra.update(schema.pop("$defs", {}))
        name = model.__name__
        self._extra[name] = schema
        return {"$ref": REF_PREFIX + name}


def clean_component_names(document: dict[str, Any]) -> None:
    """Rename components whose names OpenAPI forbids (``Page[Item]``) and fix the refs."""
    schemas = document.get("components", {}).get("schemas", {})
    renames: dict[str, str] = {}
    for name in schemas:
        if not _COMPONENT_NAME.match(name):
            new = re.sub(r"[^A-Za-z0-9._-]", "_", name)
            while new in schemas or new in renames.values():
                new += "_"
            renames[name] = new
    if not renames:
        return
    document["components"]["schemas"] = {renames.get(k, k): v for k, v in schemas.items()}
    refs = {REF_PREFIX + old: REF_PREFIX + new for old, new in renames.items()}
    _rewrite_refs(document, refs)


def _rewrite_refs(node: Any, refs: dict[str, str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref in refs:
            node["$ref"] = refs[ref]
        for value in node.values():
            _rewrite_refs(value, refs)
    elif isinstance(node, list):
        for value in node:
            _rewrite_refs(value, refs)


_ROLE = re.compile(r":(?:[a-z]+:)?[a-z]+:`~?([^`<]*?)(?:\s*<[^>]*>)?`")
_LITERAL = re.compile(r"``(.+?)``")


def _markdown(text: str) -> str:
    """reST inline markup as Markdown: ``:func:`x``` and ````x```` are `` `x` ``; a ``~``
    target shows its last name only (``:class:`~plait.db.Page``` is `` `Page` ``)."""

    def role(match: re.Match[str]) -> str:
        target = match.group(1)
        return f"`{target.rsplit('.', 1)[-1] if match.group(0).count('~') else target}`"

    return _LITERAL.sub(r"`\1`", _ROLE.sub(role, text))


def markdown_descriptions(node: Any) -> None:
    """Make every schema ``description`` (docstrings, by msgspec) Markdown, as OpenAPI's
    CommonMark expects, instead of the reST markup Python docstrings carry."""
    for schema in _schemas_in(node):
        text = schema.get("description")
        if isinstance(text, str) and ("`" in text):
            schema["description"] = _markdown(text)


def add_enum_types(node: Any) -> None:
    """Give ``enum`` schemas the JSON type of their values (msgspec leaves it out), so the UIs
    show ``string`` rather than ``any``."""
    for schema in _schemas_in(node):
        values = schema.get("enum")
        if isinstance(values, list) and values and "type" not in schema:
            kinds = {_json_type(value) for value in values}
            if len(kinds) == 1 and None not in kinds:
                schema["type"] = kinds.pop()


_VALUE_KEYS = frozenset({"default", "example", "examples", "const", "enum"})


def _schemas_in(node: Any) -> Iterator[dict[str, Any]]:
    """Every dict in a JSON schema tree, parents first, except inside values (defaults,
    examples, enums). The caller may change a dict it is given before its children come."""
    if isinstance(node, dict):
        yield node
        for key, value in node.items():
            if key not in _VALUE_KEYS:
                yield from _schemas_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schemas_in(value)


def _json_type(value: Any) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return None
