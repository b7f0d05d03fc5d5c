"""The ``responses`` of an operation: the success response and every documented error.

Errors are the ones plait itself produces for the route (404 for a path that does not match,
400/413/415 for bodies, 422 for validation, 401/403 behind a security scheme) plus whatever
``responses=`` declares, all as RFC 9457 ``application/problem+json`` unless a declared model
says otherwise.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from typing import Any, Union, get_args, get_origin

from plait._exceptions import phrase
from plait._responses import JSONResponse, Response
from plait._routing import Route
from plait._signature import strip_annotated
from plait.openapi._models import Problem, ValidationProblem
from plait.openapi._schemas import BINARY, SchemaRegistry

__all__ = ["PROBLEM_JSON", "responses"]

PROBLEM_JSON = "application/problem+json"
_NO_BODY = (204, 304)
Schema = dict[str, Any]


def responses(
    route: Route,
    output_type: Any,
    *,
    validates: bool,
    has_body: bool,
    security: list[dict[str, list[str]]],
    schemas: SchemaRegistry,
    error_type: Callable[[int], Any] | None = None,
) -> dict[str, Schema]:
    """All the responses of one operation, keyed by status code (as strings, sorted).

    ``error_type(status)`` is the type the app's own exception handler answers that error
    with (its return annotation), documented as JSON instead of the RFC 9457 problem.
    """
    found: dict[str, Schema] = {}

    def _problem(code: int, model: type[Problem], description: str | None = None) -> Schema:
        return _error(code, model, schemas, description, error_type)

    status, success = _success(route, output_type, schemas)
    found[str(status)] = success
    if route.status_code is None and status != 204 and _may_be_none(output_type):
        found["204"] = {"description": phrase(204)}
    if route.convertors:
        found["404"] = _problem(404, Problem)
    if has_body:
        for code in (400, 413, 415):
            found[str(code)] = _problem(code, Problem)
    if security:
        # A security dependency refuses missing credentials (401) and, with scopes,
        # credentials that lack one (403).
        found["401"] = _problem(401, Problem)
        if any(scopes for requirement in security for scopes in requirement.values()):
            found["403"] = _problem(403, Problem)
    if validates:
        found["422"] = _problem(422, ValidationProblem, "Validation Error")
    for code, spec in route.responses.items():
        key = str(code)
        merged = {"description": _phrase(code), **found.get(key, {})}
        found[key] = {**merged, **_declared(code, spec, schemas, error_type)}
    return dict(sorted(found.items()))


def _phrase(code: Any) -> str:
    return (phrase(code) if isinstance(code, int) else "") or "Response"


def _error(
    code: int,
    model: type[Problem],
    schemas: SchemaRegistry,
    description: str | None = None,
    error_type: Callable[[int], Any] | None = None,
) -> Schema:
    own = error_type(code) if error_type is not None else None
    content = _own_error(own, schemas) or {PROBLEM_JSON: {"schema": schemas.schema(model)}}
    return {"description": description or _phrase(code), "content": content}


def _own_error(own: Any, schemas: SchemaRegistry) -> Schema | None:
    """The content of an error answered by a handler returning ``own`` (as plait._results
    renders it: ``str`` is text, anything else JSON)."""
    if own is None:
        return None
    base = strip_annotated(own)
    media_type = "text/plain" if isinstance(base, type) and issubclass(base, str) else None
    return {media_type or "application/json": {"schema": schemas.schema(own)}}


def _non_null(tp: Any) -> list[Any]:
    tp = strip_annotated(tp)
    if get_origin(tp) in (Union, types.UnionType):
        return [strip_annotated(a) for a in get_args(tp) if a is not type(None)]
    return [tp]


def _may_be_none(tp: Any) -> bool:
    tp = strip_annotated(tp)
    return get_origin(tp) in (Union, types.UnionType) and type(None) in get_args(tp)


def _success(route: Route, output_type: Any, schemas: SchemaRegistry) -> tuple[int, Schema]:
    base = strip_annotated(output_type)
    if base is type(None):
        # ``-> None``: the renderer answers an empty 204 (or the status given).
        status = route.status_code or 204
        return status, {"description": _phrase(status)}
    status = route.status_code or 200
    entry: Schema = {"description": "Successful Response"}
    content = _success_content(route, output_type, schemas)
    if content is not None and status not in _NO_BODY:
        entry["content"] = content
    return status, entry


def _success_content(route: Route, output_type: Any, schemas: SchemaRegistry) -> Schema | None:
    cls = route.response_class
    choices = _non_null(output_type) if output_type is not None else []
    if len(choices) == 1 and isinstance(choices[0], type) and issubclass(choices[0], Response):
        # The handler builds its own response: only its media type is known.
        media_type = choices[0].media_type or (cls.media_type if cls else None)
        return {media_type: {}} if media_type else None
    if output_type is None or output_type is Any:
        # Unannotated: the body could be anything, so document none rather than a wrong one.
        return {cls.media_type: {}} if cls is not None and cls.media_type else None
    if cls is not None and cls is not JSONResponse:
        return {cls.media_type: {"schema": schemas.schema(output_type)}} if cls.media_type else None
    if cls is None and len(choices) == 1 and isinstance(choices[0], type):
        # Mirrors plait._results: str (and str subclasses) is text, bytes is binary.
        if issubclass(choices[0], str):
            return {"text/plain": {"schema": schemas.schema(output_type)}}
        if issubclass(choices[0], bytes):
            return {"application/octet-stream": {"schema": dict(BINARY)}}
    return {"application/json": {"schema": schemas.schema(output_type)}}


def _declared(
    code: Any, spec: Any, schemas: SchemaRegistry, error_type: Callable[[int], Any] | None
) -> Schema:
    """One entry of ``responses=``: a model, a description, or a dict of both (and more)."""
    error = isinstance(code, int) and code >= 400
    entry: Schema = {}
    model: Any = None
    media_type: str | None = None
    if isinstance(spec, str):
        entry["description"] = spec
    elif isinstance(spec, Mapping):
        extra = dict(spec)
        model = extra.pop("model", None)
        media_type = extra.pop("media_type", None)
        entry.update(extra)
    elif spec is not None:
        model = spec
    if "content" in entry:
        return entry
    is_problem = isinstance(model, type) and issubclass(model, Problem)
    if error and (model is None or is_problem) and error_type is not None:
        own = _own_error(error_type(code), schemas)  # what the app's handler really sends
        if own is not None:
            entry["content"] = own
            return entry
    if model is not None:
        if media_type is None:
            media_type = PROBLEM_JSON if is_problem else "application/json"
        entry["content"] = {media_type: {"schema": schemas.schema(model)}}
    elif error:
        entry["content"] = {PROBLEM_JSON: {"schema": schemas.schema(Problem)}}
    return entry
