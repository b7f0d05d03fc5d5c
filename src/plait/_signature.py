"""Reading a handler's signature once, at start-up, into a plan of where each value comes from.

The plan is plain data: the binder (``_binding``) turns it into per-request extractors, and
the OpenAPI generator reads it to document parameters, bodies and dependencies.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import inspect
import types
import typing
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

import msgspec

from plait._background import BackgroundTasks
from plait._datastructures import UploadFile
from plait._params import REQUIRED, Body, Depends, Header, Param, Path, Security
from plait._request import HTTPConnection
from plait._responses import Response

__all__ = [
    "CallPlan",
    "DependencyInfo",
    "ParamInfo",
    "SignatureError",
    "analyze",
    "contains_model_type",
    "contains_pydantic",
    "is_model_type",
    "is_pydantic_model",
    "is_scalar_type",
    "is_sequence_type",
    "response_type",
    "split_annotated",
    "strip_annotated",
    "strip_type",
]

_SCALARS: tuple[type, ...] = (
    str,
    int,
    float,
    bool,
    bytes,
    decimal.Decimal,
    uuid.UUID,
    datetime.datetime,
    datetime.date,
    datetime.time,
    datetime.timedelta,
)


class SignatureError(TypeError):
    """A handler or dependency parameter that cannot be bound; raised at start-up."""


def _strip_optional(tp: Any) -> Any:
    origin = get_origin(tp)
    if origin is Union or origin is types.UnionType:
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return strip_annotated(args[0])
    return tp


def strip_annotated(tp: Any) -> Any:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    return tp


def split_annotated(tp: Any) -> tuple[Any, list[Any]]:
    """The bare type and the metadata of the (nested) ``Annotated`` around it."""
    metadata: list[Any] = []
    while get_origin(tp) is Annotated:
        tp, *extra = get_args(tp)
        metadata.extend(extra)
    return tp, metadata


def is_scalar_type(tp: Any) -> bool:
    """Types a single query/header/path string converts to."""
    tp = _strip_optional(strip_annotated(tp))
    if tp is Any:
        return True
    origin = get_origin(tp)
    if origin is Literal:
        return True
    if origin is Union or origin is types.UnionType:
        return all(is_scalar_type(a) for a in get_args(tp) if a is not type(None))
    return isinstance(tp, type) and (issubclass(tp, _SCALARS) or issubclass(tp, enum.Enum))


def _is_sequence_of_scalars(tp: Any) -> bool:
    tp = _strip_optional(strip_annotated(tp))
    origin = get_origin(tp)
    if origin in (list, set, frozenset, tuple):
        args = [a for a in get_args(tp) if a is not Ellipsis]
        return all(is_scalar_type(a) for a in args)
    return False


def is_model_type(tp: Any) -> bool:
    """Structured types whose values are validated as a whole (Struct, dataclass, Pydantic…)."""
    tp = _strip_optional(strip_annotated(tp))
    if not isinstance(tp, type):
        origin = get_origin(tp)
        if origin in (list, tuple, set, frozenset):
            return any(is_model_type(a) for a in get_args(tp) if a is not Ellipsis)
        return False
    return (
        issubclass(tp, msgspec.Struct)
        or dataclasses.is_dataclass(tp)
        or typing.is_typeddict(tp)
        or is_pydantic_model(tp)
    )


def is_pydantic_model(tp: Any) -> bool:
    return isinstance(tp, type) and hasattr(tp, "model_validate") and hasattr(tp, "model_fields")


def strip_type(tp: Any) -> Any:
    """``tp`` without ``Annotated`` metadata and without ``| None``."""
    return _strip_optional(strip_annotated(tp))


def is_sequence_type(tp: Any) -> bool:
    """``list[...]``, ``set[...]``, ``frozenset[...]`` or ``tuple[...]``, optional or not."""
    return get_origin(strip_type(tp)) in (list, set, frozenset, tuple)


_CONTAINERS = (Union, types.UnionType, list, tuple, set, frozenset, dict)


def _walk(tp: Any) -> Iterator[Any]:
    """``tp`` and the types nested in it: union members, item, key and value types."""
    tp = strip_annotated(tp)
    yield tp
    origin = get_origin(tp)
    if origin in _CONTAINERS:
        for arg in get_args(tp):
            yield from _walk(arg)
    elif origin is not None:
        yield origin  # a generic model: ``Page[Item]``


def contains_model_type(tp: Any) -> bool:
    """Whether a structured type appears in ``tp`` (``dict[str, Out]``, ``Out | None``)."""
    return any(isinstance(t, type) and is_model_type(t) for t in _walk(tp))


def contains_pydantic(tp: Any) -> bool:
    """Whether a Pydantic model appears in ``tp``: Pydantic, not msgspec, validates it."""
    return any(is_pydantic_model(t) for t in _walk(tp))


def _is_upload(tp: Any) -> bool:
    tp = _strip_optional(strip_annotated(tp))
    if tp is UploadFile:
        return True
    origin = get_origin(tp)
    return origin is list and bool(get_args(tp)) and strip_annotated(get_args(tp)[0]) is UploadFile


@dataclasses.dataclass(eq=False)
class ParamInfo:
    """One value taken from the request."""

    name: str
    """The Python argument name."""
    source: str
    """``path``, ``query``, ``header``, ``cookie``, ``body``, ``form`` or ``file``."""
    key: str
    """The name in the request (alias, or ``User-Agent`` for ``user_agent``)."""
    annotation: Any
    """The type to validate against, constraints included (``Annotated[int, Meta(ge=1)]``)."""
    default: Any
    marker: Param | None
    multiple: bool = False
    embed: bool = False

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def python_type(self) -> Any:
        """The annotation without metadata (``int | None`` for ``Annotated[int, ...] | None``)."""
        tp = strip_annotated(self.annotation)
        if get_origin(tp) in (Union, types.UnionType):
            return Union[tuple(strip_annotated(a) for a in get_args(tp))]  # noqa: UP007
        return tp


@dataclasses.dataclass(eq=False)
class DependencyInfo:
    """A ``Depends(...)`` to resolve; ``name`` is None for route-level dependencies."""

    name: str | None
    call: Callable[..., Any]
    use_cache: bool
    plan: CallPlan
    scopes: list[str] | None = None
    scope: str = "request"
    """When a generator's cleanup runs: ``request`` (after the response) or ``function``."""


@dataclasses.dataclass(eq=False)
class CallPlan:
    """Everything needed to call one function for a request."""

    func: Callable[..., Any]
    params: list[ParamInfo] = dataclasses.field(default_factory=list)
    dependencies: list[DependencyInfo] = dataclasses.field(default_factory=list)
    specials: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    """``(argument name, kind)``: connection, background tasks or response defaults."""
    defaults: dict[str, Any] = dataclasses.field(default_factory=dict)

    def all_params(self) -> list[ParamInfo]:
        """This plan's parameters and those of its dependencies, depth first."""
        found: list[ParamInfo] = []
        for dep in self.dependencies:
            found.extend(dep.plan.all_params())
        found.extend(self.params)
        return found

    def all_dependencies(self) -> list[DependencyInfo]:
        found: list[DependencyInfo] = []
        for dep in self.dependencies:
            found.extend(dep.plan.all_dependencies())
            found.append(dep)
        return found


def describe(func: Callable[..., Any]) -> str:
    module = getattr(func, "__module__", None)
    name = getattr(func, "__qualname__", None) or repr(func)
    return f"{module}.{name}" if module else name


def _hints(func: Callable[..., Any]) -> dict[str, Any]:
    target: Any = func
    if isinstance(func, type):
        target = func.__init__  # type: ignore[misc]
    elif not inspect.isfunction(func) and not inspect.ismethod(func) and callable(func):
        target = func.__call__  # type: ignore[operator]
    try:
        return get_type_hints(target, include_extras=True)
    except (NameError, TypeError) as exc:
        raise SignatureError(f"Cannot read the type hints of {describe(func)}: {exc}") from exc


def analyze(
    func: Callable[..., Any],
    path_params: Mapping[str, Any],
    connection_type: type[HTTPConnection],
    overrides: Mapping[Callable[..., Any], Callable[..., Any]],
    route_dependencies: list[Depends] | None = None,
    _stack: tuple[Callable[..., Any], ...] = (),
) -> CallPlan:
    """Plan how to call ``func``: one entry per parameter, and its dependencies, recursively."""
    plan = CallPlan(func)
    hints = _hints(func)
    for dep in route_dependencies or ():
        if not isinstance(dep, Depends):
            raise SignatureError(
                f"Route dependencies must be Depends(...) objects, got {dep!r} for {describe(func)}"
            )
        plan.dependencies.append(
            _dependency(None, dep, path_params, connection_type, overrides, (*_stack, func))
        )
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise SignatureError(f"Cannot inspect {describe(func)}: {exc}") from exc
    for name, param in signature.parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        annotation = hints.get(name, Any if param.annotation is param.empty else param.annotation)
        _plan_param(
            plan, func, name, param, annotation, path_params, connection_type, overrides, _stack
        )
    return plan


def _plan_param(
    plan: CallPlan,
    func: Callable[..., Any],
    name: str,
    param: inspect.Parameter,
    annotation: Any,
    path_params: Mapping[str, Any],
    connection_type: type[HTTPConnection],
    overrides: Mapping[Callable[..., Any], Callable[..., Any]],
    stack: tuple[Callable[..., Any], ...],
) -> None:
    marker: Param | Depends | None = None
    metas: list[Any] = []
    base = annotation
    if get_origin(annotation) is Annotated:
        base, *extras = get_args(annotation)
        for extra in extras:
            if isinstance(extra, Param | Depends):
                marker = extra
            else:
                metas.append(extra)
    default = param.default
    if isinstance(default, Param | Depends):
        marker, default = default, REQUIRED
    if default is param.empty or default is Ellipsis:
        default = REQUIRED
    where = f"parameter {name!r} of {describe(func)}"

    if marker is None and isinstance(base, type):
        # A class that builds itself from the request (a plait.forms.Form, say) names the
        # dependency that makes it: ``form: SignUp`` reads as ``Depends(SignUp.__plait_depends__)``.
        factory = getattr(base, "__plait_depends__", None)
        if factory is not None:
            marker = Depends(factory)
    if isinstance(marker, Depends):
        plan.dependencies.append(
            _dependency(
                name,
                marker,
                path_params,
                connection_type,
                overrides,
                (*stack, func),
                annotation=base,
            )
        )
        return
    special = _special_kind(base, connection_type, where)
    if special is not None:
        plan.specials.append((name, special))
        return
    if marker is not None and marker.default is not REQUIRED:
        if default is not REQUIRED:
            raise SignatureError(
                f"{where}: give the default either to the marker or to the parameter, not both"
            )
        default = marker.default
    try:
        meta = marker.meta() if marker is not None else None
    except TypeError as exc:
        raise SignatureError(f"{where}: {exc}") from None
    extras = [*metas, meta] if meta is not None else metas
    full = _with_metadata(base, extras)
    _check_constraints(full, where)

    if name in path_params or isinstance(marker, Path):
        if name not in path_params:
            raise SignatureError(f"{where} is marked Path() but the route has no {{{name}}}")
        if default is not REQUIRED:
            raise SignatureError(f"{where}: path parameters cannot have a default")
        plan.params.append(ParamInfo(name, "path", name, full, REQUIRED, marker))
        return
    source = marker.source if marker is not None else _default_source(base, where)
    key = marker.alias if marker is not None and marker.alias else name
    if isinstance(marker, Header) and not marker.alias and marker.convert_underscores:
        key = name.replace("_", "-")
    multiple = _is_sequence_of_scalars(base) or (
        source == "file" and get_origin(_strip_optional(strip_annotated(base))) is list
    )
    if source in ("query", "header", "cookie", "path") and not (is_scalar_type(base) or multiple):
        raise SignatureError(
            f"{where}: a {source} parameter must be a scalar or a list of scalars, not {base!r}"
        )
    embed = isinstance(marker, Body) and marker.embed
    info = ParamInfo(name, source, key, full, default, marker, multiple=multiple, embed=embed)
    plan.params.append(info)


def _with_metadata(base: Any, extras: list[Any]) -> Any:
    """``base`` annotated with ``extras``; for ``X | None``, ``X`` is, so that ``None`` stays
    valid and constraints apply to the value (``Annotated[str, Meta(...)] | None``)."""
    if not extras:
        return base
    if get_origin(base) in (Union, types.UnionType):
        members = [a for a in get_args(base) if a is not type(None)]
        if len(members) == 1:
            return typing.Optional[Annotated[(members[0], *extras)]]  # noqa: UP045
    return Annotated[(base, *extras)]


def _check_constraints(tp: Any, where: str) -> None:
    """Refuse at start-up a constraint the type cannot take (``min_length`` on an ``int``)."""
    if contains_pydantic(tp) or _is_upload(tp):
        return
    try:
        msgspec.json.Decoder(tp)
    except TypeError as exc:
        raise SignatureError(f"{where}: {exc}") from None


def _special_kind(base: Any, connection_type: type[HTTPConnection], where: str) -> str | None:
    if not isinstance(base, type):
        return None
    if issubclass(base, HTTPConnection):
        if not issubclass(connection_type, base):
            raise SignatureError(
                f"{where} asks for a {base.__name__}, but this endpoint receives a "
                f"{connection_type.__name__}"
            )
        return "connection"
    if issubclass(base, BackgroundTasks):
        return "background"
    if base is Response:
        return "response"
    return None


def _default_source(base: Any, where: str) -> str:
    if _is_upload(base):
        return "file"
    if is_scalar_type(base) or _is_sequence_of_scalars(base):
        return "query"
    stripped = _strip_optional(strip_annotated(base))
    if is_model_type(base) or stripped in (dict, list) or get_origin(stripped) in (dict, list):
        return "body"
    raise SignatureError(
        f"{where}: cannot tell where a {base!r} comes from; annotate it with "
        "Query(), Body(), Header(), Cookie(), Form() or Depends()"
    )


def _dependency(
    name: str | None,
    marker: Depends,
    path_params: Mapping[str, Any],
    connection_type: type[HTTPConnection],
    overrides: Mapping[Callable[..., Any], Callable[..., Any]],
    stack: tuple[Callable[..., Any], ...],
    annotation: Any = None,
) -> DependencyInfo:
    target = marker.dependency
    if target is None:
        if not isinstance(annotation, type) or annotation is Any:
            raise SignatureError(
                f"parameter {name!r} of {describe(stack[-1])}: Depends() without a callable "
                "needs a class annotation"
            )
        target = annotation
    call = overrides.get(target, target)
    if call in stack:
        chain = " -> ".join(describe(f) for f in (*stack, call))
        where = f"parameter {name!r}" if name is not None else "a route dependency"
        raise SignatureError(f"Dependency cycle at {where} of {describe(stack[-1])}: {chain}")
    plan = analyze(call, path_params, connection_type, overrides, None, stack)
    scopes = marker.scopes if isinstance(marker, Security) else None
    return DependencyInfo(name, call, marker.use_cache, plan, scopes, marker.scope)


def response_type(endpoint: Callable[..., Any], response_model: Any = None) -> Any:
    """A handler's declared output type: ``response_model=`` or its return annotation."""
    if response_model is not None:
        return response_model
    try:
        hints = typing.get_type_hints(endpoint, include_extras=True)
    except (NameError, TypeError):
        return None
    return hints.get("return")
