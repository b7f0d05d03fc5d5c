"""One OpenAPI operation from a compiled route: parameters, request body and security.

Everything is read from the route's :class:`~plait._signature.CallPlan`, the same plan the
binder compiles into extractors, so the document describes exactly what is validated.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import re
import types
from collections.abc import Callable
from typing import Annotated, Any, Union, get_args, get_origin

import msgspec
from msgspec import Meta

from plait._convertors import Convertor
from plait._datastructures import UploadFile
from plait._params import REQUIRED, Body
from plait._routing import Route
from plait._signature import CallPlan, ParamInfo, is_model_type
from plait.openapi._responses import responses
from plait.openapi._schemas import SchemaRegistry

__all__ = ["build_operation", "humanise"]

_IN_ORDER = {"path": 0, "query": 1, "header": 2, "cookie": 3}
Schema = dict[str, Any]


def build_operation(
    route: Route,
    plan: CallPlan,
    operation_id: str,
    output_type: Any,
    schemas: SchemaRegistry,
    security_schemes: dict[str, Any],
    app: Any = None,
) -> dict[str, Any]:
    """The operation object for one method of ``route`` (``app`` is handed to security
    schemes that depend on it)."""
    operation: dict[str, Any] = {}
    if route.tags:
        operation["tags"] = list(route.tags)
    operation["summary"] = route.summary or humanise(_endpoint_name(route))
    description = route.description or _docstring(route.endpoint)
    if description:
        operation["description"] = description
    operation["operationId"] = operation_id
    params = plan.all_params()
    parameters = _parameters(route, params, schemas)
    if parameters:
        operation["parameters"] = parameters
    body = _request_body(params, operation_id, schemas)
    if body is not None:
        operation["requestBody"] = body
    has_body = any(p.source in ("body", "form", "file") for p in params)
    security = _security(plan, security_schemes, app)
    operation["responses"] = responses(
        route,
        output_type,
        validates=bool(params),
        has_body=has_body,
        security=security,
        schemas=schemas,
        error_type=app.errors.documented_error if app is not None else None,
    )
    if security:
        operation["security"] = security
    if route.deprecated:
        operation["deprecated"] = True
    return operation


def humanise(name: str) -> str:
    """``get_item`` -> ``Get Item``."""
    return " ".join(word[:1].upper() + word[1:] for word in name.split("_") if word)


def _endpoint_name(route: Route) -> str:
    return getattr(route.endpoint, "__name__", None) or route.name or ""


def _docstring(endpoint: Callable[..., Any]) -> str | None:
    if not (inspect.isfunction(endpoint) or inspect.ismethod(endpoint)):
        return None
    doc = inspect.getdoc(endpoint)
    # As in FastAPI, a form feed ends the part meant for the API docs.
    return doc.split("\f", 1)[0].strip() or None if doc else None


# ---------------------------------------------------------------------- parameters


def _parameters(route: Route, params: list[ParamInfo], schemas: SchemaRegistry) -> list[Schema]:
    found: list[Schema] = []
    seen: set[tuple[str, str]] = set()
    for info in params:
        if info.source not in _IN_ORDER:
            continue
        ident = (info.source, info.key.lower() if info.source == "header" else info.key)
        if ident in seen:
            continue
        seen.add(ident)
        marker = info.marker
        if marker is not None and not marker.include_in_schema and info.source != "path":
            continue
        convertor = route.convertors.get(info.key) if info.source == "path" else None
        found.append(_parameter(info, convertor, schemas))
    # A path parameter the handler does not take is still part of the path template.
    for name, convertor in route.convertors.items():
        if ("path", name) not in seen:
            schema: Schema = {"type": convertor.openapi_type}
            _path_fixup(convertor)(schema)
            found.append({"name": name, "in": "path", "required": True, "schema": schema})
    found.sort(key=lambda p: _IN_ORDER[p["in"]])
    return found


def _parameter(info: ParamInfo, convertor: Convertor | None, schemas: SchemaRegistry) -> Schema:
    param: Schema = {
        "name": info.key,
        "in": info.source,
        "required": info.source == "path" or info.required,
    }
    path_fixup = _path_fixup(convertor) if convertor is not None else None
    default = info.default

    def fixup(schema: Schema) -> None:
        if path_fixup is not None:
            path_fixup(schema)
        if "description" in schema:
            # Said once, on the parameter, where the UIs show it.
            description = schema.pop("description")
            param.setdefault("description", description)
        if info.multiple and info.required and schema.get("type") == "array":
            # An empty list is no value at all in a query string: a required one has items.
            schema.setdefault("minItems", 1)
        if default is not REQUIRED and default is not None and "default" not in schema:
            with contextlib.suppress(TypeError):
                schema["default"] = msgspec.to_builtins(default)

    marker = info.marker
    if marker is not None:
        if marker.description:
            param["description"] = marker.description
        if marker.deprecated:
            param["deprecated"] = True
        if marker.examples:
            param["examples"] = {
                f"example{i}": {"value": value} for i, value in enumerate(marker.examples, 1)
            }
    param["schema"] = schemas.schema(info.annotation, fixup)
    if info.multiple and info.source == "query":
        param["style"] = "form"
        param["explode"] = True
    return param


def _path_fixup(convertor: Convertor) -> Callable[[Schema], None]:
    """What the path convertor adds to the parameter's type: ``{id:int}`` takes no ``-1``."""
    regex = re.compile(convertor.regex)

    def fixup(schema: Schema) -> None:
        kind = schema.get("type")
        if kind in ("integer", "number"):
            unbounded = "minimum" not in schema and "exclusiveMinimum" not in schema
            if unbounded and regex.fullmatch("-1") is None and regex.fullmatch("0") is not None:
                schema["minimum"] = 0
        elif kind == "string" and not convertor.matches_rest:
            if convertor.regex != Convertor.regex and not {"pattern", "format"} & set(schema):
                schema["pattern"] = f"^(?:{convertor.regex})$"
            if "minLength" not in schema and regex.fullmatch("") is None:
                schema["minLength"] = 1

    return fixup


# ---------------------------------------------------------------------- request body


def _request_body(
    params: list[ParamInfo], operation_id: str, schemas: SchemaRegistry
) -> Schema | None:
    body = [p for p in params if p.source == "body"]
    if body:
        return _json_body(body, operation_id, schemas)
    form = [p for p in params if p.source in ("form", "file")]
    if form:
        return _form_body(form, operation_id, schemas)
    return None


def _json_body(infos: list[ParamInfo], operation_id: str, schemas: SchemaRegistry) -> Schema:
    # Mirrors _binding._BodyReader: one body parameter (not embedded) is the whole body,
    # several (or an embedded one) are the keys of one object.
    result: Schema = {}
    if len(infos) == 1 and not infos[0].embed:
        info = infos[0]
        tp: Any = info.annotation
        required = info.required
        if info.marker is not None and info.marker.description:
            result["description"] = info.marker.description
    else:
        tp = _body_struct(f"Body_{operation_id}", infos)
        required = any(i.required for i in infos)
    media_types = {i.marker.media_type for i in infos if isinstance(i.marker, Body)}
    result["content"] = {
        media_type: {"schema": schemas.schema(tp)}
        for media_type in sorted(media_types or {"application/json"})
    }
    result["required"] = required
    return result


def _form_body(infos: list[ParamInfo], operation_id: str, schemas: SchemaRegistry) -> Schema:
    has_files = any(i.source == "file" for i in infos)
    media_type = "multipart/form-data" if has_files else "application/x-www-form-urlencoded"
    if len(infos) == 1 and is_model_type(infos[0].python_type):
        # Mirrors _binding._FormReader: a Struct parameter is built from the whole form.
        tp: Any = infos[0].annotation
    else:
        tp = _body_struct(f"Body_{operation_id}", infos)
    # Without a form Content-Type the form reader answers 415, even when every field is
    # optional: the body itself is required.
    return {"content": {media_type: {"schema": schemas.schema(tp)}}, "required": True}


def _body_struct(name: str, infos: list[ParamInfo]) -> type[msgspec.Struct]:
    """The object several body parameters make, or the fields of a form."""
    fields: list[tuple[str, Any, Any]] = []
    for index, info in enumerate(infos):
        annotation = info.annotation
        form = info.source in ("form", "file")
        if info.source == "file":
            annotation = UploadFile
            if info.multiple:
                # No part at all is a missing field: a required list has at least one file.
                annotation = Annotated[list[UploadFile], Meta(min_length=1 if info.required else 0)]
        elif form and info.default is None:
            annotation = _without_none(annotation)
        if info.required:
            field = msgspec.field(name=info.key)
        elif isinstance(info.default, list | dict | set) or (form and info.default is None):
            # A form cannot send null: an optional field is one that is left out.
            field = msgspec.field(default_factory=_copier(info.default), name=info.key)
        else:
            field = msgspec.field(default=info.default, name=info.key)
        fields.append((f"field{index}", annotation, field))
    return msgspec.defstruct(name, fields, kw_only=True)


def _without_none(tp: Any) -> Any:
    if get_origin(tp) is Annotated:
        inner, *extras = get_args(tp)
        return Annotated[(_without_none(inner), *extras)]
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        return Union[tuple(args)] if args else tp  # noqa: UP007 - built from a list
    return tp


def _copier(value: Any) -> Callable[[], Any]:
    return lambda: copy.copy(value)


# ---------------------------------------------------------------------- security


def _security(plan: CallPlan, schemes: dict[str, Any], app: Any) -> list[dict[str, list[str]]]:
    """The security requirements of the route's dependencies.

    A dependency documents itself when its callable (or the object a bound method belongs
    to) has ``scheme_name`` and ``openapi_security_scheme`` (a dict, or a method taking the
    app, for a scheme that depends on its settings): every such scheme is required together.
    ``openapi_security_alternatives(app)`` instead lists ``(name, scheme)`` pairs any one of
    which will do (a session cookie or a token). ``Security(dep, scopes=[...])`` and an
    ``openapi_scopes`` attribute add scopes; ``openapi_roles`` adds roles to the schemes
    that are not OAuth2 (which may only list the scopes its flows define).
    """
    required: dict[str, list[str]] = {}
    alternatives: dict[str, list[str]] = {}
    for dep in plan.all_dependencies():
        owner = dep.call
        if not hasattr(owner, "openapi_security_scheme") and not hasattr(
            owner, "openapi_security_alternatives"
        ):
            owner = getattr(owner, "__self__", owner)
        scopes = [*(dep.scopes or ()), *getattr(owner, "openapi_scopes", ())]
        roles = list(getattr(owner, "openapi_roles", ()))
        choices = getattr(owner, "openapi_security_alternatives", None)
        if callable(choices):
            for name, scheme in choices(app):
                schemes[name] = scheme
                _add(alternatives.setdefault(name, []), scopes)
                if scheme.get("type") != "oauth2":
                    _add(alternatives[name], roles)
            continue
        scheme = getattr(owner, "openapi_security_scheme", None)
        if callable(scheme):
            scheme = scheme(app)
        name = getattr(owner, "scheme_name", None)
        if not isinstance(scheme, dict) or not isinstance(name, str):
            continue
        schemes[name] = scheme
        _add(required.setdefault(name, []), scopes + roles)
    if alternatives:
        return [{**required, name: scopes} for name, scopes in alternatives.items()]
    return [required] if required else []


def _add(scopes: list[str], more: list[str]) -> None:
    scopes.extend(s for s in more if s not in scopes)
