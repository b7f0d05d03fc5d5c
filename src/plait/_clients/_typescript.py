"""The typed TypeScript client: interfaces for the schemas, a ``fetch`` client class, and
problem+json errors as typed exceptions."""

from __future__ import annotations

import json
import re
from typing import Any

from plait._clients._operations import Operation, error_map, ref_name, snake

__all__ = ["typescript_client"]

_SCALARS = {"integer": "number", "number": "number", "boolean": "boolean", "null": "null"}

_RUNTIME = """
export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly response: Response,
    readonly problem: Problem | null,
  ) {
    const title = problem?.title ?? response.statusText;
    const detail = problem?.detail ? `: ${String(problem.detail)}` : "";
    super(`${response.status} ${title}${detail}`);
    this.status = response.status;
  }
}
export class BadRequestError extends ApiError {}
export class UnauthorizedError extends ApiError {}
export class ForbiddenError extends ApiError {}
export class NotFoundError extends ApiError {}
export class ConflictError extends ApiError {}
export class ValidationError extends ApiError {
  get errors(): FieldError[] {
    return (this.problem as ValidationProblem | null)?.errors ?? [];
  }
}
export class RateLimitedError extends ApiError {}
export class ServerError extends ApiError {}

const ERRORS: Record<number, typeof ApiError> = {
__ERROR_MAP__
};

export interface ClientOptions {
  baseUrl?: string;
  headers?: Record<string, string>;
  fetch?: typeof fetch;
}

type Query = Record<string, string | number | boolean | null | undefined>;

export class Client {
  readonly baseUrl: string;
  private readonly headers: Record<string, string>;
  private readonly fetchImpl: typeof fetch;

  constructor(options: ClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? "").replace(/\\/$/, "");
    this.headers = options.headers ?? {};
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  private async request<T>(
    method: string,
    path: string,
    query?: Query,
    body?: unknown,
  ): Promise<T> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null) params.append(key, String(value));
    }
    const search = params.toString();
    const headers: Record<string, string> = { accept: "application/json", ...this.headers };
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await this.fetchImpl(`${this.baseUrl}${path}${search ? `?${search}` : ""}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) {
      let problem: Problem | null = null;
      if ((response.headers.get("content-type") ?? "").startsWith("application/problem+json")) {
        problem = (await response.json()) as Problem;
      }
      const Kind = ERRORS[response.status] ?? (response.status >= 500 ? ServerError : ApiError);
      throw new Kind(response, problem);
    }
    if (response.status === 204 || response.headers.get("content-length") === "0") {
      return undefined as T;
    }
    return (await response.json()) as T;
  }
"""


def _camel(name: str) -> str:
    head, *rest = snake(name).split("_")
    return head + "".join(part.capitalize() for part in rest)


def _type(schema: dict[str, Any]) -> str:
    name = ref_name(schema)
    if name is not None:
        return name
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " | ".join(dict.fromkeys(_type(option) for option in schema[key]))
    if "const" in schema:
        return json.dumps(schema["const"])
    if "enum" in schema:
        return " | ".join(json.dumps(value) for value in schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join(_type({**schema, "type": one}) for one in kind)
    if kind == "string":
        return "string"
    if kind in _SCALARS:
        return _SCALARS[kind]
    if kind == "array":
        item = _type(schema.get("items", {}))
        return f"({item})[]" if " " in item else f"{item}[]"
    if kind == "object":
        extra = schema.get("additionalProperties")
        return f"Record<string, {_type(extra) if isinstance(extra, dict) else 'unknown'}>"
    return "unknown"


def _comment(text: str | None, indent: str = "") -> list[str]:
    if not text:
        return []
    return [f"{indent}/** {text.strip().replace('*/', '* /')} */"]


def _interface(name: str, schema: dict[str, Any]) -> list[str]:
    lines = _comment(schema.get("description"))
    if "enum" in schema and "properties" not in schema:
        return [*lines, f"export type {name} = {_type(schema)};"]
    required = set(schema.get("required", []))
    lines.append(f"export interface {name} {{")
    for field_name, field_schema in schema.get("properties", {}).items():
        key = (
            field_name if re.fullmatch(r"[A-Za-z_$][\w$]*", field_name) else json.dumps(field_name)
        )
        optional = "" if field_name in required else "?"
        lines.append(f"  {key}{optional}: {_type(field_schema)};")
    lines.append("}")
    return lines


def _method(operation: Operation) -> list[str]:
    params = [f"{_camel(p.name)}: {_type(p.schema)}" for p in operation.path_params]
    if operation.body is not None:
        optional = "" if operation.body_required else "?"
        params.append(f"body{optional}: {_type(operation.body)}")
    query = "undefined"
    if operation.query_params:
        fields = "; ".join(
            f"{json.dumps(p.name) if not p.name.isidentifier() else p.name}"
            f"{'' if p.required else '?'}: {_type(p.schema)}"
            for p in operation.query_params
        )
        required = any(p.required for p in operation.query_params)
        params.append(f"query: {{ {fields} }}" + ("" if required else " = {}"))
        query = "query"
    path = operation.path
    for param in operation.path_params:
        path = path.replace(
            "{" + param.name + "}", "${encodeURIComponent(String(" + _camel(param.name) + "))}"
        )
    result = _type(operation.result) if operation.result is not None else "void"
    body = "body" if operation.body is not None else "undefined"
    lines = _comment(operation.summary, "  ")
    lines.append(f"  async {_camel(operation.name)}({', '.join(params)}): Promise<{result}> {{")
    lines.append(
        f'    return this.request<{result}>("{operation.method}", `{path}`, {query}, {body});'
    )
    lines.append("  }")
    return lines


def typescript_client(
    document: dict[str, Any],
    operations: list[Operation],
    schemas: dict[str, dict[str, Any]],
    command: str,
) -> str:
    """The client module's source."""
    info = document.get("info", {})
    title = f"{info.get('title', 'API')} {info.get('version', '')}".strip()
    lines = [
        f"// Typed client for {title}, generated by `plait client` from the app's routes.",
        f"// Do not edit: regenerate with `{command}`.",
        "",
    ]
    for name, schema in schemas.items():
        lines += [*_interface(name, schema), ""]
    lines += _RUNTIME.strip("\n").replace("__ERROR_MAP__", error_map("  ")).splitlines()
    for operation in operations:
        lines += ["", *_method(operation)]
    lines.append("}")
    return "\n".join(lines) + "\n"
