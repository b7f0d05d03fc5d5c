"""Dependencies in tasks: ``Depends`` parameters resolved the way handlers get them.

A task runs outside any request, so its dependencies get a stand-in :class:`~plait.Request`
for the app (method ``TASK``, path ``/tasks/<name>``, no headers, the enqueuing request's
id in its state). That is enough for the dependencies that use the request to find the app,
such as ``plait.db.Session``. Generator dependencies clean up when the task ends and see
its exception, so ``Session`` commits after a task succeeds and rolls back when it fails.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable
from typing import Annotated, Any, get_args, get_origin, get_type_hints

from plait import App, Depends, HTTPConnection, Request

__all__ = ["Resolver", "dependency_of", "task_request"]


def dependency_of(annotation: Any, default: Any) -> Depends | None:
    """The ``Depends`` marker of a parameter (in ``Annotated`` or as its default), if any."""
    if isinstance(default, Depends):
        return default
    if get_origin(annotation) is Annotated:
        for extra in get_args(annotation)[1:]:
            if isinstance(extra, Depends):
                return extra
    return None


def _is_connection(annotation: Any) -> bool:
    base = get_args(annotation)[0] if get_origin(annotation) is Annotated else annotation
    return isinstance(base, type) and issubclass(base, HTTPConnection)


def _hints(func: Callable[..., Any]) -> dict[str, Any]:
    try:
        return get_type_hints(func, include_extras=True)
    except (NameError, TypeError):
        return {}


def task_request(app: App | None, name: str, request_id: str | None) -> Request:
    """The stand-in request a task's dependencies get."""
    state: dict[str, Any] = {}
    if request_id is not None:
        state["request_id"] = request_id
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "TASK",
        "scheme": "http",
        "path": f"/tasks/{name}",
        "raw_path": f"/tasks/{name}".encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "client": None,
        "server": None,
        "state": state,
        "app": app,
    }
    return Request(scope)


class Resolver:
    """Calls dependencies for one task run, caching each once, cleaning up on exit."""

    def __init__(self, app: App | None, request: Request, stack: contextlib.AsyncExitStack):
        self.app = app
        self.request = request
        self.stack = stack
        self.cache: dict[Callable[..., Any], Any] = {}

    async def resolve(self, marker: Depends, where: str) -> Any:
        func = marker.dependency
        if func is None:
            raise TypeError(f"{where}: Depends() in a task needs the dependency function")
        overrides = getattr(self.app, "dependency_overrides", None) or {}
        func = overrides.get(func, func)
        if marker.use_cache and func in self.cache:
            return self.cache[func]
        kwargs: dict[str, Any] = {}
        hints = _hints(func)
        for name, param in inspect.signature(func).parameters.items():
            annotation = hints.get(name, param.annotation)
            inner = dependency_of(annotation, param.default)
            if inner is not None:
                kwargs[name] = await self.resolve(inner, f"{where} -> {func.__qualname__}")
            elif _is_connection(annotation):
                kwargs[name] = self.request
            elif param.default is param.empty:
                raise TypeError(
                    f"{where}: the dependency {func.__qualname__} needs {name!r}, which a task "
                    "cannot provide (tasks have no request: only other dependencies and the "
                    "stand-in Request)"
                )
        value = await self._call(func, kwargs)
        if marker.use_cache:
            self.cache[func] = value
        return value

    async def _call(self, func: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        if inspect.isasyncgenfunction(func):
            manager = contextlib.asynccontextmanager(func)(**kwargs)
            return await self.stack.enter_async_context(manager)
        if inspect.isgeneratorfunction(func):
            return self.stack.enter_context(contextlib.contextmanager(func)(**kwargs))
        value = func(**kwargs)
        if inspect.isawaitable(value):
            value = await value
        return value
