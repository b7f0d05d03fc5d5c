"""Compiling a :class:`~plait._signature.CallPlan` into the function run per request.

Everything here runs once per route at start-up, except the closures it returns. Per request,
a route only runs its list of extractors, then calls its dependencies and the handler.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

from plait._background import BackgroundTasks
from plait._bodyparams import BodyReader, Errors, FormReader
from plait._concurrency import run_in_threadpool
from plait._extraction import SCALAR_SOURCES, compile_extraction, reads_scope_only
from plait._request import (
    Extras,
    HTTPConnection,
)
from plait._responses import Response
from plait._signature import (
    CallPlan,
    DependencyInfo,
    SignatureError,
    describe,
)
from plait._validation import (
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


Extractor = Callable[[HTTPConnection, Errors], Any]


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
    body = BodyReader(body_infos) if body_infos else None
    form = FormReader(form_infos) if form_infos else None
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
