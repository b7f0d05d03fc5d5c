"""Compiling a :class:`~plait._signature.CallPlan` into the function run per request.

Everything here runs once per route at start-up, except the closures it returns. Per request,
a route only runs its list of extractors, then calls its dependencies and the handler.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, get_args, get_origin

import msgspec

from plait._background import BackgroundTasks
from plait._concurrency import run_in_threadpool
from plait._datastructures import FormData, UploadFile
from plait._exceptions import HTTPException
from plait._extraction import SCALAR_SOURCES, compile_extraction, reads_scope_only
from plait._request import (
    MAX_FRACTION_FLOATS,
    Extras,
    HTTPConnection,
    Request,
    decode_integral,
    is_json_content_type,
    malformed_json,
    too_deep,
)
from plait._responses import Response
from plait._signature import (
    CallPlan,
    DependencyInfo,
    ParamInfo,
    SignatureError,
    contains_pydantic,
    describe,
    is_model_type,
    is_pydantic_model,
    is_sequence_type,
    strip_type,
)
from plait._validation import (
    ValidationErrorItem,
    collect_errors,
    error_item,
    from_msgspec,
    from_pydantic,
    model_fields,
    pydantic_validator,
    validation_error,
)

__all__ = ["Call", "CompiledCall", "compile_plan"]

Call = Callable[[Any], Awaitable[Any]]


class CompiledCall:
    """A handler compiled for its route: ``run(conn)`` extracts, validates, resolves and
    calls; the flags tell the pipeline what it may skip."""

    __slots__ = ("bare", "needs_connection", "plain", "run")

    def __init__(
        self,
        run: Call,
        *,
        needs_connection: bool = True,
        plain: bool = False,
        bare: Callable[[], Awaitable[Any]] | None = None,
    ) -> None:
        self.run = run
        self.bare = bare
        """A coroutine handler without parameters, called as it is (no ``run`` around it)."""
        self.needs_connection = needs_connection
        """False when ``run`` takes the ASGI scope: no Request is built unless it fails."""
        self.plain = plain
        """True without dependencies and injected objects: the handler's return value is
        all there is to the response (no response defaults, background tasks, cleanups)."""


Errors = list[ValidationErrorItem]
Extractor = Callable[[HTTPConnection, Errors], Any]


def _fresh_default(default: Any) -> Callable[[], Any]:
    if isinstance(default, list | dict | set):
        return lambda: copy.copy(default)
    return lambda: default


class _BodyReader:
    """Reads and validates the JSON body once for every body parameter of a route.

    msgspec decodes and validates in one pass; a parameter whose type mentions a Pydantic
    model is decoded as plain JSON and then validated by Pydantic.
    """

    def __init__(self, infos: list[ParamInfo]) -> None:
        self.infos = infos
        self.single = len(infos) == 1 and not infos[0].embed
        self.checks = [
            pydantic_validator(i.annotation) if contains_pydantic(i.annotation) else None
            for i in infos
        ]
        self.pydantic = any(self.checks)
        types = [
            Any if check else i.annotation for i, check in zip(infos, self.checks, strict=True)
        ]
        if self.single:
            self.type: Any = types[0]
            self.required = infos[0].required
        else:
            fields = [
                (i.key, tp) if i.required else (i.key, tp, i.default)
                for i, tp in zip(infos, types, strict=True)
            ]
            self.type = msgspec.defstruct("Body", fields)
            self.required = any(i.required for i in infos)
        self.decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(self.type)

    def _retry_integral(self, data: Any, changed: bool | None) -> Any:
        """``data`` (decoded with whole-number floats as ints) validated, or ``_NO_VALUE``.

        Only on the slow path, after the one-pass decode failed: ``{"qty": 3.0}`` is valid
        for an ``int`` field by the JSON Schema the OpenAPI document publishes. A float
        field still takes the int (msgspec accepts ints for floats).
        """
        if not changed:
            return _NO_VALUE
        try:
            return msgspec.convert(data, self.decoder.type)
        except msgspec.ValidationError:
            return _NO_VALUE

    async def read(self, request: Request, errors: Errors) -> list[Any]:
        self.check_type(request)
        return self.parse(await request.body(), errors)

    def check_type(self, request: Request) -> None:
        """Refuse a body that says it is not JSON (415), before reading it."""
        content_type = request._header("content-type")
        # PERF: the exact common value needs no parsing.
        if (
            content_type is not None
            and content_type != "application/json"
            and not is_json_content_type(content_type)
        ):
            raise HTTPException(
                415,
                f"Expected a JSON body, got Content-Type {content_type!r}",
                title="Unsupported Media Type",
            )

    def parse(self, body: bytes, errors: Errors) -> list[Any]:
        """The values of the body parameters, decoded and validated from ``body``."""
        if not body:
            if self.required:
                errors.append(error_item(["body"], "A JSON body is required", "missing"))
                return [None] * len(self.infos)
            return [_fresh_default(i.default)() for i in self.infos]
        try:
            value = self.decoder.decode(body)
        except msgspec.ValidationError:
            # The error path: C-speed decodes and a bounded walk (collect_errors), whatever
            # the body's size (docs/typed-handlers.md states the cost).
            data, changed = decode_integral(body)
            value = self._retry_integral(data, changed)
            if value is _NO_VALUE:
                found = collect_errors(data, self.type, ["body"])
                if changed is None and all(e["type"] == "too_many_errors" for e in found):
                    found = []  # floats left as they are, and no other error found
                errors.extend(found or [_too_many_floats()])
                if not self.single and isinstance(data, dict):
                    for info, check in zip(self.infos, self.checks, strict=True):
                        if check is not None and info.key in data:
                            _run_check(check, data[info.key], ["body", info.key], errors)
                return [None] * len(self.infos)
        except msgspec.DecodeError as exc:
            raise _malformed(exc) from None
        except RecursionError:
            raise too_deep() from None
        values = [value] if self.single else [getattr(value, i.key) for i in self.infos]
        if not self.pydantic:
            return values
        for n, (info, check) in enumerate(zip(self.infos, self.checks, strict=True)):
            if check is not None and values[n] is not info.default:
                loc: list[str | int] = ["body"] if self.single else ["body", info.key]
                values[n] = _run_check(check, values[n], loc, errors)
        return values


_NO_VALUE: Any = object()


def _run_check(check: Callable[[Any], Any], data: Any, loc: list[str | int], errors: Errors) -> Any:
    try:
        return check(data)
    except Exception as exc:  # pydantic.ValidationError, without importing pydantic
        if not hasattr(exc, "errors"):
            raise
        errors.extend(from_pydantic(exc, loc))
        return None


def _too_many_floats() -> ValidationErrorItem:
    """The error of a body valid only once its whole-number floats are ints, and too large
    for that retry (it has more than ``MAX_FRACTION_FLOATS`` floats, some with a fraction)."""
    return error_item(
        ["body"],
        f"Whole-number floats such as 3.0 are taken as integers only in bodies with at most "
        f"{MAX_FRACTION_FLOATS:,} floats: send 3",
        "too_many_floats",
    )


def _malformed(exc: msgspec.DecodeError) -> HTTPException:
    return HTTPException(400, malformed_json(exc), title="Malformed JSON")


def _wants_bytes(info: ParamInfo) -> bool:
    tp = strip_type(info.annotation)
    if get_origin(tp) is list:
        tp = strip_type(get_args(tp)[0])
    return tp is bytes


class _FormReader:
    """Reads form fields and files for the form/file parameters of a route.

    A parameter of a structured type (``Annotated[Login, Form()]``) is built from the whole
    form; its list fields take every value of their key, its other fields the last one.
    """

    def __init__(self, infos: list[ParamInfo]) -> None:
        self.infos = infos
        self.models = {
            id(i): _FormModel(i.annotation) for i in infos if is_model_type(i.annotation)
        }
        self.bytes = [id(i) for i in infos if i.source == "file" and _wants_bytes(i)]

    async def read(self, request: Request, errors: Errors) -> list[Any]:
        form = await request.form()
        values = []
        for info in self.infos:
            model = self.models.get(id(info))
            value = model.build(form, errors) if model else self._one(form, info, errors)
            if id(info) in self.bytes and value is not None:
                value = await _read_files(value)
            values.append(value)
        return values

    def _one(self, form: FormData, info: ParamInfo, errors: Errors) -> Any:
        loc = ["body", info.key]
        values = form.getlist(info.key)
        if not values:
            if info.required:
                errors.append(error_item(loc, "Field required", "missing"))
                return None
            return _fresh_default(info.default)()
        if info.source == "file":
            files = [v for v in values if isinstance(v, UploadFile)]
            if len(files) != len(values):
                errors.append(error_item(loc, "Expected an uploaded file", "invalid"))
                return None
            return files if info.multiple else files[-1]
        if any(isinstance(v, UploadFile) for v in values):
            errors.append(error_item(loc, "Expected a form field, got a file", "invalid"))
            return None
        raw: Any = values if info.multiple else values[-1]
        try:
            return msgspec.convert(raw, info.annotation, strict=False)
        except msgspec.ValidationError as exc:
            errors.append(from_msgspec(exc, loc))
            return None


class _FormModel:
    """A Struct, dataclass, TypedDict or Pydantic model built from a whole form."""

    def __init__(self, annotation: Any) -> None:
        self.annotation = annotation
        self.check = pydantic_validator(annotation) if contains_pydantic(annotation) else None
        self.list_keys = {
            name for name, hint in _field_hints(strip_type(annotation)) if is_sequence_type(hint)
        }

    def build(self, form: FormData, errors: Errors) -> Any:
        data: dict[str, Any] = {}
        for key in form:
            values = form.getlist(key)
            data[key] = values if key in self.list_keys else values[-1]
        if self.check is not None:
            return _run_check(self.check, data, ["body"], errors)
        try:
            return msgspec.convert(data, self.annotation, strict=False)
        except msgspec.ValidationError:
            errors.extend(collect_errors(data, self.annotation, ["body"], strict=False))
            return None


def _field_hints(tp: Any) -> list[tuple[str, Any]]:
    """``(name in the form, type)`` of each field of a model type."""
    if is_pydantic_model(tp):
        return [(f.alias or name, f.annotation) for name, f in tp.model_fields.items()]
    return [(name, hint) for name, hint, _ in model_fields(tp) or ()]


async def _read_files(value: UploadFile | list[UploadFile]) -> bytes | list[bytes]:
    if isinstance(value, list):
        return [await f.read() for f in value]
    return await value.read()


# ---------------------------------------------------------------------- calling


class _Context:
    """Per-request state of a call: the dependency cache and the cleanup stack."""

    __slots__ = ("cache", "conn", "function_stack", "values")

    def __init__(
        self,
        conn: HTTPConnection,
        values: list[Any],
        function_stack: contextlib.AsyncExitStack | None = None,
    ) -> None:
        self.conn = conn
        self.values = values
        self.cache: dict[Callable[..., Any], Any] = {}
        self.function_stack = function_stack


def _kind(func: Callable[..., Any]) -> str:
    target = func
    if not inspect.isfunction(func) and not inspect.ismethod(func) and not isinstance(func, type):
        target = getattr(func, "__call__", func)  # noqa: B004 - callable objects
    if inspect.isasyncgenfunction(target):
        return "asyncgen"
    if inspect.isgeneratorfunction(target):
        return "gen"
    if inspect.iscoroutinefunction(target):
        return "coro"
    return "sync"


class _Invoker:
    """Calls one plan's function with its values, dependencies and connection objects."""

    def __init__(self, plan: CallPlan, index: dict[int, int], allow_generators: bool) -> None:
        self.func = plan.func
        self.kind = _kind(plan.func)
        # PERF: the context-manager factory of a generator dependency is built once, not per
        # request (``asynccontextmanager`` copies the function's metadata with
        # ``functools.wraps``: ~17 Python calls a request).
        self.manager: Callable[..., Any] | None = None
        if self.kind == "asyncgen":
            self.manager = contextlib.asynccontextmanager(plan.func)
        elif self.kind == "gen":
            self.manager = contextlib.contextmanager(plan.func)
        if self.kind in ("gen", "asyncgen") and not allow_generators:
            raise SignatureError(
                f"{describe(plan.func)} is a generator: only dependencies may yield (to clean up)"
            )
        self.slots = [(p.name, index[id(p)]) for p in plan.params]
        self.deps = [(d, _Invoker(d.plan, index, True)) for d in plan.dependencies]
        self.specials = plan.specials
        self.plain = not self.deps and not self.specials
        self.function_scoped = False
        for dep, invoker in self.deps:
            invoker.function_scoped = dep.scope == "function"

    def kwargs(self, values: list[Any]) -> dict[str, Any]:
        return {name: values[i] for name, i in self.slots}

    async def resolve(self, ctx: _Context) -> None:
        """Resolve the dependencies alone (they may refuse the request), not the function."""
        for dep, invoker in self.deps:
            await _resolve(dep, invoker, ctx)

    async def __call__(self, ctx: _Context) -> Any:
        kwargs = {name: ctx.values[i] for name, i in self.slots}
        for dep, invoker in self.deps:
            value = await _resolve(dep, invoker, ctx)
            if dep.name is not None:
                kwargs[dep.name] = value
        for name, special in self.specials:
            kwargs[name] = _injected(special, ctx.conn)
        return await self.call(kwargs, ctx)

    async def call(self, kwargs: dict[str, Any], ctx: _Context) -> Any:
        kind = self.kind
        if kind == "coro":
            return await self.func(**kwargs)
        if kind == "sync":
            return await run_in_threadpool(self.func, **kwargs)
        stack = ctx.function_stack if self.function_scoped else _exit_stack(ctx.conn)
        assert stack is not None
        assert self.manager is not None
        if kind == "asyncgen":
            return await stack.enter_async_context(self.manager(**kwargs))
        manager = self.manager(**kwargs)
        value = await run_in_threadpool(manager.__enter__)

        async def close(*exc_info: Any) -> bool | None:
            return await run_in_threadpool(manager.__exit__, *exc_info)

        stack.push_async_exit(close)
        return value


async def _resolve(dep: DependencyInfo, invoker: _Invoker, ctx: _Context) -> Any:
    if dep.use_cache and dep.call in ctx.cache:
        return ctx.cache[dep.call]
    value = await invoker(ctx)
    if dep.use_cache:
        ctx.cache[dep.call] = value
    return value


def _exit_stack(conn: HTTPConnection) -> contextlib.AsyncExitStack:
    if conn.exit_stack is None:
        conn.exit_stack = contextlib.AsyncExitStack()
    return conn.exit_stack


def _injected(kind: str, conn: HTTPConnection) -> Any:
    if kind == "connection":
        return conn
    extras = conn.extras
    if extras is None:
        extras = conn.extras = Extras()
    if kind == "background":
        if extras.background is None:
            extras.background = BackgroundTasks()
        return extras.background
    if kind == "response":
        if extras.response is None:
            extras.response = Response(status_code=0)
            extras.response.raw_headers.clear()
        return extras.response
    raise AssertionError(kind)


class _DependenciesFirst:
    """A route's dependencies, run before its invalid values are refused: a request that
    must log in hears 401, not what is wrong with its body (as in FastAPI and DRF).

    Only dependencies whose own values are all valid can run: an error located in one of
    theirs (or any body error, when a dependency reads the body) is answered at once.
    """

    __slots__ = ("function_scoped", "invoker", "locs", "reads_body")

    def __init__(self, plan: CallPlan, invoker: _Invoker, function_scoped: bool) -> None:
        own = [p for dep in plan.dependencies for p in dep.plan.all_params()]
        self.locs = {(p.source, p.key) for p in own if p.source in SCALAR_SOURCES}
        self.reads_body = any(p.source not in SCALAR_SOURCES for p in own)
        self.invoker = invoker
        self.function_scoped = function_scoped

    def can_run(self, errors: Errors) -> bool:
        for error in errors:
            loc = error["loc"]
            if loc[0] == "body" and self.reads_body:
                return False
            if len(loc) > 1 and (loc[0], loc[1]) in self.locs:
                return False
        return True

    async def refuse(self, conn: Any, values: list[Any], errors: Errors) -> NoReturn:
        """Run the dependencies, then refuse the values with a 422. Function-scoped ones
        clean up seeing that refusal (a ``Session`` rolls back)."""
        if not self.function_scoped:
            await self.invoker.resolve(_Context(conn, values))
            raise validation_error(errors)
        async with contextlib.AsyncExitStack() as stack:
            await self.invoker.resolve(_Context(conn, values, stack))
            raise validation_error(errors)


def compile_plan(plan: CallPlan) -> CompiledCall:
    """The per-request call for ``plan``: extract, validate, resolve, call."""
    params = plan.all_params()
    body_infos = [p for p in params if p.source == "body"]
    form_infos = [p for p in params if p.source in ("form", "file")]
    if body_infos and form_infos:
        raise SignatureError(
            f"{describe(plan.func)} mixes JSON body and form parameters; a request has one body"
        )
    body = _BodyReader(body_infos) if body_infos else None
    form = _FormReader(form_infos) if form_infos else None
    reader = body or form
    invoker = _Invoker(plan, {id(p): i for i, p in enumerate(params)}, allow_generators=False)
    function_scoped = any(d.scope == "function" for d in plan.all_dependencies())

    if invoker.plain:
        func = plan.func
        is_coro = invoker.kind == "coro"
        if not params and is_coro:
            # PERF: a handler without parameters: hand back its own coroutine, so no extra
            # coroutine frame wraps it.
            def call_bare(conn: Any) -> Awaitable[Any]:
                return func()  # type: ignore[no-any-return]

            return CompiledCall(call_bare, needs_connection=False, plain=True, bare=func)
        # PERF: no dependencies or injected objects: one generated function reads the values
        # and calls the handler with them (returning its coroutine when there is no body).
        run = compile_extraction(params, describe(func), func=func, is_coro=is_coro, body=reader)
        return CompiledCall(run, needs_connection=not reads_scope_only(params, reader), plain=True)

    extract = compile_extraction(params, describe(plan.func))
    body_slots = [i for i, p in enumerate(params) if p.source not in SCALAR_SOURCES]
    first = _DependenciesFirst(plan, invoker, function_scoped) if plan.dependencies else None

    async def call(conn: Any) -> Any:
        errors: Errors = []
        values = extract(conn, errors)
        if reader is not None:
            for i, value in zip(body_slots, await reader.read(conn, errors), strict=True):
                values[i] = value
        if errors:
            if first is not None and first.can_run(errors):
                await first.refuse(conn, values, errors)
            raise validation_error(errors)
        if not function_scoped:
            return await invoker(_Context(conn, values))
        # Function-scoped generator dependencies clean up here, before the response is sent,
        # and see the handler's exception if there was one.
        async with contextlib.AsyncExitStack() as stack:
            return await invoker(_Context(conn, values, stack))

    return CompiledCall(call)
