"""Binding a handler's parameters, planned once per route when the app starts."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, get_type_hints

import msgspec

from plait._background import BackgroundTasks
from plait._concurrency import run_in_threadpool
from plait._convertors import Convertor
from plait._exceptions import HTTPException
from plait._request import HTTPConnection

__all__ = ["Call", "compile_call", "validation_error"]

Call = Callable[[Any], Awaitable[Any]]
Binder = Callable[[Any], Any]


def validation_error(errors: list[dict[str, Any]]) -> HTTPException:
    """The 422 problem listing every invalid field with its location."""
    return HTTPException(
        422,
        "The request is invalid: " + "; ".join(e["msg"] for e in errors),
        title="Validation Error",
        extra={"errors": errors},
    )


def _path_binder(name: str, annotation: Any, convertor: Convertor) -> Binder:
    if annotation in (inspect.Parameter.empty, Any, convertor.python_type):

        def bind_raw(conn: HTTPConnection) -> Any:
            return conn.scope["path_params"][name]

        return bind_raw

    def bind_converted(conn: HTTPConnection) -> Any:
        raw = conn.scope["path_params"][name]
        try:
            return msgspec.convert(raw, annotation, strict=False)
        except msgspec.ValidationError as exc:
            raise validation_error(
                [{"loc": ["path", name], "msg": f"{name}: {exc}", "type": "type_error"}]
            ) from None

    return bind_converted


def _describe(endpoint: Callable[..., Any]) -> str:
    return getattr(endpoint, "__qualname__", repr(endpoint))


def compile_call(
    endpoint: Callable[..., Any], path_params: dict[str, Convertor], connection_type: type
) -> Call:
    """Plan how to call ``endpoint`` for a request: one binder per parameter, fixed now."""
    try:
        hints = get_type_hints(endpoint, include_extras=True)
    except (NameError, TypeError) as exc:
        raise TypeError(f"Cannot read the type hints of {_describe(endpoint)}: {exc}") from exc
    binders: list[tuple[str, Binder]] = []
    for name, param in inspect.signature(endpoint).parameters.items():
        annotation = hints.get(name, param.annotation)
        if isinstance(annotation, type) and issubclass(annotation, HTTPConnection):
            if not issubclass(connection_type, annotation):
                raise TypeError(
                    f"{_describe(endpoint)}: parameter {name!r} asks for a "
                    f"{annotation.__name__}, but this endpoint receives a "
                    f"{connection_type.__name__}"
                )
            binders.append((name, lambda conn: conn))
        elif annotation is BackgroundTasks:
            binders.append((name, _tasks_binder))
        elif name in path_params:
            binders.append((name, _path_binder(name, annotation, path_params[name])))
        elif param.default is inspect.Parameter.empty:
            raise TypeError(
                f"{_describe(endpoint)}: cannot bind parameter {name!r}: it is not a path "
                f"parameter of the route and has no default"
            )
    return _make_call(endpoint, binders)


def _tasks_binder(conn: HTTPConnection) -> BackgroundTasks:
    state = conn.scope.setdefault("state", {})
    tasks = state.get("background_tasks")
    if tasks is None:
        tasks = state["background_tasks"] = BackgroundTasks()
    return tasks  # type: ignore[no-any-return]


def _make_call(endpoint: Callable[..., Any], binders: list[tuple[str, Binder]]) -> Call:
    is_async = inspect.iscoroutinefunction(endpoint) or inspect.iscoroutinefunction(
        getattr(endpoint, "__call__", None)  # noqa: B004 - async callable objects
    )
    if is_async:
        if not binders:
            # PERF: a handler without parameters is called without building kwargs.
            async def call_bare(conn: Any) -> Any:
                return await endpoint()

            return call_bare

        async def call_async(conn: Any) -> Any:
            return await endpoint(**{name: bind(conn) for name, bind in binders})

        return call_async

    async def call_sync(conn: Any) -> Any:
        kwargs = {name: bind(conn) for name, bind in binders}
        return await run_in_threadpool(endpoint, **kwargs)

    return call_sync
