"""A route's path, query, header and cookie parameters, compiled into one function.

At start-up each route gets the source of a function that reads every scalar parameter
straight from the connection, converts and checks it, and either calls the handler with them
as keyword arguments or returns them as a list (for routes with dependencies). As Falcon
does with its router, the source is generated and compiled once.

# PERF: one generated function instead of a closure per parameter: the query string is
parsed once, each value is one dict lookup, the common conversions (none, or an int with
bounds) are inline, and the handler is called without building a values list first.
"""

from __future__ import annotations

import copy
import inspect
import types
from collections.abc import Callable
from typing import Annotated, Any, Union, get_args, get_origin

import msgspec

from plait._concurrency import run_in_threadpool
from plait._datastructures import query_dict
from plait._signature import ParamInfo
from plait._validation import error_item, from_msgspec, validation_error

__all__ = [
    "SCALAR_SOURCES",
    "compile_extraction",
    "reads_scope_only",
]

SCALAR_SOURCES = ("path", "query", "header", "cookie")


def _split_scalar(annotation: Any) -> tuple[Any, list[Any]]:
    """``(base type, metadata)`` of ``Annotated[T, ...]``, ``T | None`` or both nested."""
    origin = get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            annotation = args[0]
    metas: list[Any] = []
    while get_origin(annotation) is Annotated:
        annotation, *extra = get_args(annotation)
        metas.extend(extra)
    return annotation, metas


_MAX_18_DIGITS = 10**18 - 1


def _int_bounds(metas: list[Any]) -> tuple[float, float] | None:
    """``(low, high)`` inclusive bounds when the metadata is only numeric bounds on an int."""
    low: float = -(2**63)
    high: float = 2**63 - 1
    for meta in metas:
        if not isinstance(meta, msgspec.Meta):
            return None
        for name in ("multiple_of", "pattern", "min_length", "max_length", "tz"):
            if getattr(meta, name) is not None:
                return None
        if meta.ge is not None:
            low = max(low, meta.ge)
        if meta.gt is not None:
            low = max(low, meta.gt + 1)
        if meta.le is not None:
            high = min(high, meta.le)
        if meta.lt is not None:
            high = min(high, meta.lt - 1)
    return low, high


class _CodeWriter:
    """Builds the generated function's source and the names it refers to."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names: dict[str, Any] = {
            "convert": msgspec.convert,
            "ValidationError": msgspec.ValidationError,
            "copy": copy.copy,
            "error_item": error_item,
            "from_msgspec": from_msgspec,
            "validation_error": validation_error,
            "run_in_threadpool": run_in_threadpool,
        }

    def name(self, prefix: str, value: Any) -> str:
        name = f"{prefix}_{len(self.names)}"
        self.names[name] = value
        return name

    def add(self, indent: int, *lines: str) -> None:
        self.lines.extend("    " * indent + line for line in lines)

    def compile(self, name: str, filename: str) -> Any:
        namespace = dict(self.names)
        exec(compile("\n".join(self.lines), filename, "exec"), namespace)
        return namespace[name]


def _read(info: ParamInfo, src: _CodeWriter, scope: str) -> tuple[str, str | None]:
    """The expression of a parameter's raw value (``None`` when the request lacks it), and
    the mapping it is one ``get`` from, if it is."""
    key = src.name("key", info.key.lower() if info.source == "header" else info.key)
    if info.source == "path":
        return f"{scope}['path_params'][{key}]", None
    if info.source == "query":
        if info.multiple:
            return f"conn.query_params.getlist({key}) or None", None
        return f"query.get({key})", f"query.get({key}, %s)"
    if info.source == "header":
        if info.multiple:
            return f"conn.headers.getlist({key}) or None", None
        return f"headers.get({key})", f"headers.get({key}, %s)"
    if info.source == "cookie":
        return f"conn.cookies.get({key})", f"conn.cookies.get({key}, %s)"
    raise AssertionError(info.source)


def _extract(info: ParamInfo, target: str, src: _CodeWriter, scope: str) -> None:
    """Source setting ``target`` to the parameter's value, or appending to ``errors``."""
    loc = src.name("loc", [info.source, info.key])
    read, read_or = _read(info, src, scope)
    base, metas = _split_scalar(info.annotation)
    # A missing value never reaches the conversion, so ``str | None`` converts like ``str``.
    as_is = not metas and (base is str or base is Any)
    if info.required:
        missing = f"errors.append(error_item({loc}, 'Field required', 'missing')); {target} = None"
    elif isinstance(info.default, list | dict | set):
        missing = f"{target} = copy({src.name('default', info.default)})"
    else:
        default = src.name("default", info.default)
        if as_is and read_or is not None:
            # Mapping values are never None: one get() with the default does it all.
            src.add(1, f"{target} = {read_or % default}")
            return
        missing = f"{target} = {default}"
    # The router only matches a path with every parameter in it: a path value is never None.
    always_there = info.source == "path"
    src.add(1, f"raw = {read}")
    if not always_there:
        src.add(1, "if raw is None:", f"    {missing}")
    if as_is:
        if always_there:
            src.add(1, f"{target} = raw")
        else:
            src.add(1, "else:", f"    {target} = raw")
        return
    annotation = src.name("type", info.annotation)
    bounds = _int_bounds(metas) if base is int else None
    convert = [
        "try:",
        f"    {target} = convert(raw, {annotation}, strict=False)",
        "except ValidationError as exc:",
        f"    errors.append(from_msgspec(exc, {loc})); {target} = None",
    ]
    if bounds is not None:
        # int() on a short digits-only string, then a bounds check, is several times cheaper
        # than msgspec.convert; anything unusual goes to msgspec for its message. Query,
        # header and cookie values are always strings; a path convertor may give an int.
        is_str = "" if info.source in ("query", "header", "cookie") else "type(raw) is str and "
        test = f"{'if' if always_there else 'elif'} {is_str}raw.isascii() and raw.isdigit()"
        if bounds[0] <= 0 and bounds[1] >= _MAX_18_DIGITS:
            # PERF: at most 18 digits is always within these bounds: no comparison.
            src.add(1, f"{test} and len(raw) < 19:", f"    {target} = int(raw)")
        else:
            low, high = src.name("low", bounds[0]), src.name("high", bounds[1])
            src.add(
                1,
                f"{test} and len(raw) < 19 and {low} <= ({target} := int(raw)) <= {high}:",
                "    pass",
            )
    elif always_there:
        src.add(1, *convert)
        return
    src.add(1, "else:", *("    " + line for line in convert))


def _positional(func: Callable[..., Any] | None, params: list[ParamInfo]) -> bool:
    """Whether ``func`` can take ``params`` positionally, in order.

    # PERF: a call with positional arguments is cheaper than one with keywords.
    """
    try:
        # Not through __wrapped__: a decorator's own wrapper receives the call.
        signature = inspect.signature(func, follow_wrapped=False)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    leading = list(signature.parameters.values())[: len(params)]
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in leading] == [p.name for p in params] and all(
        p.kind in kinds for p in leading
    )


def compile_extraction(
    params: list[ParamInfo],
    label: str,
    *,
    func: Callable[..., Any] | None = None,
    is_coro: bool = True,
    body: Any = None,
) -> Any:
    """The per-request function reading the scalar parameters among ``params`` (of ``label``).

    With ``func`` (a handler without dependencies), it calls ``func`` with every parameter as a
    keyword argument and returns the awaitable: ``call(conn)``; ``body``, a reader of the
    body parameters, makes it a coroutine function that awaits ``body.read(conn, errors)``
    (or, for a JSON body reader, calls ``body.check_type(conn)`` and ``body.parse(...)``
    around ``await conn.body()``).
    Without ``func``, it returns the values in the order of ``params``, with ``None`` for
    the others: ``extract(conn, errors) -> list``.

    A calling function that only reads the path and single query values takes the ASGI
    scope instead of a request (see :func:`reads_scope_only`).
    """
    src = _CodeWriter()
    scalars = [p for p in params if p.source in SCALAR_SOURCES]
    calling = func is not None
    from_scope = calling and reads_scope_only(params, body)
    scope = "scope" if from_scope else "conn.scope"
    if from_scope:
        src.names["query_dict"] = query_dict
        src.add(0, "def run(scope):", "    errors = []")
    elif calling:
        prefix = "async def" if body is not None else "def"
        src.add(0, f"{prefix} run(conn):", "    errors = []")
    else:
        src.add(0, "def run(conn, errors):")
    if calling:
        src.names["func"] = func
    if from_scope and any(p.source == "query" for p in scalars):
        src.add(1, "query = query_dict(scope)")
    elif any(p.source == "query" and not p.multiple for p in scalars):
        src.add(
            1,
            "query = conn._query_params",
            "if query is None:",
            "    query = conn.query_params",
            "query = query._dict",
        )
    if any(p.source == "header" and not p.multiple for p in scalars):
        src.add(1, "headers = conn.headers._lookup()")
    targets = []
    read = 0
    for n, info in enumerate(params):
        if info.source in SCALAR_SOURCES:
            targets.append(f"v{n}")
            _extract(info, f"v{n}", src, scope)
        else:
            targets.append(f"values[{read}]" if calling else "None")
            read += 1
    if not calling:
        src.add(1, f"return [{', '.join(targets)}]")
        return src.compile("run", f"<plait: parameters of {label}>")
    if body is not None:
        src.names["body"] = body
        if hasattr(body, "parse"):
            # PERF: a JSON body is checked and decoded by plain calls around the one await.
            src.add(1, "body.check_type(conn)", "values = body.parse(await conn.body(), errors)")
        else:
            src.add(1, "values = await body.read(conn, errors)")
    src.add(1, "if errors:", "    raise validation_error(errors)")
    if _positional(func, params):
        args = targets
    else:
        args = [f"{p.name}={t}" for p, t in zip(params, targets, strict=True)]
    if not is_coro:
        args.insert(0, "func")
    call = f"{'func' if is_coro else 'run_in_threadpool'}({', '.join(args)})"
    src.add(1, f"return {'await ' if body is not None else ''}{call}")
    return src.compile("run", f"<plait: parameters of {label}>")


def reads_scope_only(params: list[ParamInfo], body: Any = None) -> bool:
    """Whether a handler's calling function takes the ASGI scope rather than a request.

    # PERF: path and query values need no Request object: they are read from the scope.
    """
    return body is None and all(
        p.source == "path" or (p.source == "query" and not p.multiple) for p in params
    )
