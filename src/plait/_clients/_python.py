"""The typed Python client: httpx, a sync and an async class, msgspec Structs, typed errors.

A component schema becomes a ``msgspec.Struct`` (an enum an ``enum.Enum``), unless the app's
own class of that name can be imported by the client's users (it lives in a package
module, not a script or plait itself): then the client imports it.
"""

from __future__ import annotations

import json
import keyword
import re
from typing import Any

from plait._clients._operations import ERROR_CLASSES, Operation, error_map, ref_name, snake

__all__ = ["python_client"]

_FORMATS = {
    "date": "datetime.date",
    "date-time": "datetime.datetime",
    "time": "datetime.time",
    "uuid": "uuid.UUID",
    "binary": "bytes",
}
_SCALARS = {"integer": "int", "number": "float", "boolean": "bool", "null": "None"}

_ERRORS = '''
class ApiError(Exception):
    """An error answer: its status, and its problem document (RFC 9457) when it sent one."""

    def __init__(
        self, response: httpx.Response, problem: Problem | ValidationProblem | None
    ) -> None:
        self.response = response
        self.status = response.status_code
        self.problem = problem
        detail = problem.detail if problem is not None else None
        title = problem.title if problem is not None else response.reason_phrase
        super().__init__(f"{self.status} {title}" + (f": {detail}" if detail else ""))


class BadRequestError(ApiError):
    """400: the request could not be read."""


class UnauthorizedError(ApiError):
    """401: credentials are missing or wrong."""


class ForbiddenError(ApiError):
    """403: not allowed."""


class NotFoundError(ApiError):
    """404: no such resource."""


class ConflictError(ApiError):
    """409: the request conflicts with the resource's state."""


class ValidationError(ApiError):
    """422: invalid input; ``errors`` lists each invalid field."""

    @property
    def errors(self) -> list[FieldError]:
        return self.problem.errors if isinstance(self.problem, ValidationProblem) else []


class RateLimitedError(ApiError):
    """429: too many requests; retry later."""


class ServerError(ApiError):
    """5xx: the server failed."""


_ERRORS: dict[int, type[ApiError]] = {
__ERROR_MAP__
}


def _error(response: httpx.Response) -> ApiError:
    problem: Problem | ValidationProblem | None = None
    if response.headers.get("content-type", "").startswith("application/problem+json"):
        try:
            if response.status_code == 422:
                problem = msgspec.json.decode(response.content, type=ValidationProblem)
            else:
                problem = msgspec.json.decode(response.content, type=Problem)
        except msgspec.DecodeError:
            problem = None
    cls = _ERRORS.get(response.status_code, ServerError if response.is_server_error else ApiError)
    return cls(response, problem)


def _query(params: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in params.items() if value is not None}


def _path(value: object) -> str:
    return quote(str(value), safe="")
'''


def _identifier(name: str) -> str:
    attribute = re.sub(r"\W", "_", name)
    if not attribute or attribute[0].isdigit():
        attribute = f"_{attribute}"
    return f"{attribute}_" if keyword.iskeyword(attribute) else attribute


class _Types:
    """Python annotations for JSON schemas, noting the imports they need."""

    def __init__(self) -> None:
        self.imports: set[str] = set()

    def of(self, schema: dict[str, Any]) -> str:
        name = ref_name(schema)
        if name is not None:
            return name
        for key in ("anyOf", "oneOf"):
            if key in schema:
                parts = list(dict.fromkeys(self.of(option) for option in schema[key]))
                if "None" in parts:  # T | None reads best with None last
                    parts = [part for part in parts if part != "None"] + ["None"]
                return " | ".join(parts)
        if "const" in schema:
            return f"Literal[{json.dumps(schema['const'])}]"
        if "enum" in schema:
            return f"Literal[{', '.join(json.dumps(value) for value in schema['enum'])}]"
        kind = schema.get("type")
        if isinstance(kind, list):
            return " | ".join(self.of({**schema, "type": one}) for one in kind)
        if kind == "string":
            annotation = _FORMATS.get(schema.get("format", ""), "str")
            if "." in annotation:
                self.imports.add(annotation.split(".")[0])
            return annotation
        if kind in _SCALARS:
            return _SCALARS[kind]
        if kind == "array":
            return f"list[{self.of(schema.get('items', {}))}]"
        if kind == "object":
            extra = schema.get("additionalProperties")
            value = self.of(extra) if isinstance(extra, dict) else "Any"
            return f"dict[str, {value}]"
        return "Any"


def _docstring(text: str | None, indent: str, blank_after: bool = False) -> list[str]:
    if not text:
        return []
    text = text.replace('"""', "'''").strip().replace("\\", "\\\\")
    return [f'{indent}"""{text}"""', *([""] if blank_after else [])]


def _struct(name: str, schema: dict[str, Any], types: _Types) -> list[str]:
    if "enum" in schema and schema.get("type") in ("string", "integer"):
        lines = [f"class {name}(enum.Enum):"]
        lines += _docstring(schema.get("description"), "    ", blank_after=True)
        types.imports.add("enum")
        for value in schema["enum"]:
            member = _identifier(str(value).upper()) if str(value) else "EMPTY"
            lines.append(f"    {member} = {json.dumps(value)}")
        return lines
    lines = [f"class {name}(msgspec.Struct, kw_only=True, omit_defaults=True):"]
    lines += _docstring(schema.get("description"), "    ", blank_after=True)
    required = set(schema.get("required", []))
    properties: dict[str, Any] = schema.get("properties", {})
    for field_name, field_schema in properties.items():
        attribute = _identifier(field_name)
        annotation = types.of(field_schema)
        default = ""
        if field_name not in required:
            parts = annotation.split(" | ")
            nullable = "None" in parts
            parts = [part for part in parts if part != "None"] + ["msgspec.UnsetType"]
            annotation = " | ".join(parts + (["None"] if nullable else []))
            default = " = msgspec.UNSET"
        if attribute != field_name:
            default = f" = msgspec.field(name={json.dumps(field_name)}" + (
                ", default=msgspec.UNSET)" if field_name not in required else ")"
            )
        lines.append(f"    {attribute}: {annotation}{default}")
    if not properties:
        lines.append("    pass")
    return lines


def _signature(operation: Operation, types: _Types) -> tuple[str, list[str], str]:
    """(parameters, path/query/body lines of the call, the result annotation)."""
    params = ["self"]
    for param in operation.path_params:
        params.append(f"{_identifier(snake(param.name))}: {types.of(param.schema)}")
    if operation.body is not None:
        body = types.of(operation.body)
        params.append(f"body: {body}" if operation.body_required else f"body: {body} | None = None")
    if operation.query_params:
        params.append("*")
    for param in operation.query_params:
        annotation = types.of(param.schema)
        if param.required:
            params.append(f"{_identifier(snake(param.name))}: {annotation}")
        else:
            optional = annotation if "None" in annotation.split(" | ") else f"{annotation} | None"
            params.append(f"{_identifier(snake(param.name))}: {optional} = None")
    path = operation.path
    for param in operation.path_params:
        path = path.replace(
            "{" + param.name + "}", "{_path(" + _identifier(snake(param.name)) + ")}"
        )
    call = [f'"{operation.method}"', f'f"{path}"' if operation.path_params else f'"{path}"']
    if operation.query_params:
        pairs = ", ".join(
            f"{json.dumps(q.name)}: {_identifier(snake(q.name))}" for q in operation.query_params
        )
        call.append(f"params=_query({{{pairs}}})")
    if operation.body is not None:
        call.append("body=body")
    result = types.of(operation.result) if operation.result is not None else "None"
    return ", ".join(params), call, result


def _method(operation: Operation, types: _Types, is_async: bool) -> list[str]:
    params, call, result = _signature(operation, types)
    prefix = "async def" if is_async else "def"
    awaiting = "await " if is_async else ""
    lines = [f"    {prefix} {operation.name}({params}) -> {result}:"]
    lines += _docstring(operation.summary, "        ")
    request = f"{awaiting}self._request({', '.join(call)})"
    if result == "None":
        lines.append(f"        {request}")
    else:
        lines.append(f"        response = {request}")
        lines.append(f"        return msgspec.json.decode(response.content, type={result})")
    return lines


def _client_class(operations: list[Operation], types: _Types, is_async: bool) -> list[str]:
    name, http, awaiting = (
        ("AsyncClient", "httpx.AsyncClient", "await ")
        if is_async
        else (
            "Client",
            "httpx.Client",
            "",
        )
    )
    define = "async def" if is_async else "def"
    close = "aclose" if is_async else "close"
    enter, exit_ = ("__aenter__", "__aexit__") if is_async else ("__enter__", "__exit__")
    lines = [
        f"class {name}:",
        f'    """The API over {http} to ``base_url``, or over your own ``http`` client (which',
        '    closing this one leaves open)."""',
        "",
        "    def __init__(",
        "        self,",
        '        base_url: str = "http://127.0.0.1:8000",',
        "        *,",
        f"        http: {http} | None = None,",
        "        headers: dict[str, str] | None = None,",
        "        timeout: float = 10.0,",
        "    ) -> None:",
        "        self._owns_http = http is None",
        f"        self.http = http or {http}(base_url=base_url, headers=headers, timeout=timeout)",
        "",
        f"    {define} close(self) -> None:",
        "        if self._owns_http:",
        f"            {awaiting}self.http.{close}()",
        "",
        f"    {define} {enter}(self) -> {name}:",
        "        return self",
        "",
        f"    {define} {exit_}(self, *exc_info: object) -> None:",
        f"        {awaiting}self.close()",
        "",
        f"    {define} _request(",
        "        self,",
        "        method: str,",
        "        path: str,",
        "        *,",
        "        params: dict[str, Any] | None = None,",
        "        body: Any = None,",
        "    ) -> httpx.Response:",
        "        content = None if body is None else msgspec.json.encode(body)",
        '        headers = {"content-type": "application/json"} if content is not None else None',
        f"        response = {awaiting}self.http.request(",
        "            method, path, params=params, content=content, headers=headers",
        "        )",
        "        if response.is_error:",
        "            raise _error(response)",
        "        return response",
    ]
    for operation in operations:
        lines += ["", *_method(operation, types, is_async)]
    return lines


def python_client(
    document: dict[str, Any],
    operations: list[Operation],
    schemas: dict[str, dict[str, Any]],
    reused: dict[str, str],
    command: str,
) -> str:
    """The client module's source. ``reused`` maps a schema name to the module its class is
    imported from instead of being generated."""
    types = _Types()
    body: list[str] = []
    for name, schema in schemas.items():
        if name in reused:
            continue
        body += ["", "", *_struct(name, schema, types)]
    methods = [_client_class(operations, types, False), _client_class(operations, types, True)]
    info = document.get("info", {})
    title = f"{info.get('title', 'API')} {info.get('version', '')}".strip()
    names = ["ApiError", "AsyncClient", "Client", *sorted(schemas)]
    names += [*ERROR_CLASSES.values(), "ServerError"]
    head = [
        f'"""Typed client for {title}, generated by ``plait client`` from the app\'s routes.',
        "",
        "Do not edit: regenerate with::",
        "",
        f"    {command}",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        *[f"import {module}" for module in sorted(types.imports)],
        "from typing import Any, Literal",
        "from urllib.parse import quote",
        "",
        "import httpx",
        "import msgspec",
    ]
    by_module: dict[str, list[str]] = {}
    for name, module in sorted(reused.items()):
        by_module.setdefault(module, []).append(name)
    if by_module:
        head.append("")
        head += [
            f"from {module} import {', '.join(names_)}" for module, names_ in by_module.items()
        ]
    head += ["", "__all__ = [", *[f'    "{name}",' for name in sorted(set(names))], "]"]
    errors = _ERRORS.strip("\n").replace("__ERROR_MAP__", error_map("    "))
    source = head + body + ["", "", errors, "", ""]
    source += methods[0] + ["", "", *methods[1]]
    text = "\n".join(source) + "\n"
    if "Literal[" not in text.split("from urllib.parse import quote", 1)[1]:
        text = text.replace("from typing import Any, Literal\n", "from typing import Any\n")
    return text
