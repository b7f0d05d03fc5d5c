"""The operations and schemas a client is generated from: the app's OpenAPI document, read
once into plain records both generators (Python and TypeScript) walk."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ERROR_CLASSES",
    "PROBLEM_SCHEMAS",
    "Operation",
    "Param",
    "error_map",
    "operations",
    "schemas",
    "snake",
]

_METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
_JSON = ("application/json", "application/problem+json")

ERROR_CLASSES = {
    400: "BadRequestError",
    401: "UnauthorizedError",
    403: "ForbiddenError",
    404: "NotFoundError",
    409: "ConflictError",
    422: "ValidationError",
    429: "RateLimitedError",
}
"""The error class both clients raise for a status (another: ``ServerError`` for a 5xx,
else ``ApiError``)."""


def error_map(indent: str) -> str:
    """The entries of a client's status-to-error-class map, one a line (Python and
    TypeScript spell them alike)."""
    return "\n".join(f"{indent}{status}: {name}," for status, name in ERROR_CLASSES.items())


_PROBLEM_PROPERTIES: dict[str, Any] = {
    "type": {"type": "string"},
    "title": {"type": "string"},
    "status": {"type": "integer"},
    "detail": {},
    "instance": {"anyOf": [{"type": "string"}, {"type": "null"}]},
}
_PROBLEM_REQUIRED = ["type", "title", "status"]

PROBLEM_SCHEMAS: dict[str, Any] = {
    "Problem": {
        "type": "object",
        "description": "An RFC 9457 problem document (application/problem+json).",
        "properties": _PROBLEM_PROPERTIES,
        "required": _PROBLEM_REQUIRED,
    },
    "FieldError": {
        "type": "object",
        "description": "One invalid value of a request: where it is and what is wrong.",
        "properties": {
            "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
            "msg": {"type": "string"},
            "type": {"type": "string"},
        },
        "required": ["loc", "msg", "type"],
    },
    "ValidationProblem": {
        "type": "object",
        "description": "The 422 problem document listing every invalid field of a request.",
        "properties": {
            **_PROBLEM_PROPERTIES,
            "errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}},
        },
        "required": [*_PROBLEM_REQUIRED, "errors"],
    },
}
"""plait's error documents: every client has them, whether the app's document lists them."""


@dataclass(frozen=True)
class Param:
    name: str
    schema: dict[str, Any]
    required: bool
    description: str | None = None


@dataclass
class Operation:
    """One route as a client method."""

    name: str
    method: str
    path: str
    summary: str | None
    path_params: list[Param] = field(default_factory=list)
    query_params: list[Param] = field(default_factory=list)
    body: dict[str, Any] | None = None
    body_required: bool = True
    result: dict[str, Any] | None = None


def snake(name: str) -> str:
    """``todoId`` / ``todo-id`` -> ``todo_id`` (a valid identifier)."""
    name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    name = re.sub(r"\W+", "_", name).strip("_").lower() or "value"
    return f"_{name}" if name[0].isdigit() else name


def _json_schema(content: dict[str, Any] | None) -> dict[str, Any] | None:
    for media_type in _JSON:
        if content and media_type in content:
            schema: dict[str, Any] = content[media_type].get("schema", {})
            return schema
    return None


def _result(responses: dict[str, Any]) -> dict[str, Any] | None:
    for status in sorted(responses):
        if status.startswith("2"):
            return _json_schema(responses[status].get("content"))
    return None


def _method_name(operation_id: str, method: str, taken: set[str]) -> str:
    name = snake(operation_id.removesuffix(f"_{method}"))
    if name in taken:
        name = snake(operation_id)
    taken.add(name)
    return name


def operations(document: dict[str, Any]) -> list[Operation]:
    """Every operation of ``document``, in path order."""
    found: list[Operation] = []
    taken: set[str] = set()
    for path, item in document.get("paths", {}).items():
        for method in _METHODS:
            spec = item.get(method)
            if spec is None:
                continue
            operation_id = spec.get("operationId") or f"{method}_{path}"
            operation = Operation(
                name=_method_name(operation_id, method, taken),
                method=method.upper(),
                path=path,
                summary=spec.get("description") or spec.get("summary"),
                result=_result(spec.get("responses", {})),
            )
            for param in [*item.get("parameters", []), *spec.get("parameters", [])]:
                record = Param(
                    param["name"],
                    param.get("schema", {}),
                    bool(param.get("required")),
                    param.get("description"),
                )
                if param["in"] == "path":
                    operation.path_params.append(record)
                elif param["in"] == "query":
                    operation.query_params.append(record)
            body = spec.get("requestBody")
            if body is not None:
                operation.body = _json_schema(body.get("content")) or {}
                operation.body_required = bool(body.get("required", False))
            found.append(operation)
    return found


def schemas(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The document's component schemas, plus plait's problem documents."""
    found = {**PROBLEM_SCHEMAS, **document.get("components", {}).get("schemas", {})}
    return dict(sorted(found.items()))


def ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None
