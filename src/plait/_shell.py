"""``plait shell APP``: a Python shell with the app, its settings, every model and a ready
database session, where top-level ``await`` works.

IPython when it is installed (its ``autoawait`` runs ``await``), else the standard REPL
made asynchronous as ``python -m asyncio`` is: each input runs to the end in one event
loop, the one the session belongs to. Batteries add names through ``plait.shell`` entry
points: a function ``(app) -> async context manager yielding a dict`` (the data layer adds
the models, ``db``, ``session`` and ``select``).
"""

from __future__ import annotations

import ast
import asyncio
import code
import contextlib
import importlib
import inspect
import sys
import types
from collections.abc import AsyncIterator
from typing import Any

import click

from plait._clioptions import app_options, auto_choice
from plait._loading import LoadedApp, app_settings, cli_load_app
from plait._plugins import battery_entry_points

__all__ = ["ENTRY_POINT_GROUP", "AsyncConsole", "shell_command", "shell_namespace"]

ENTRY_POINT_GROUP = "plait.shell"


class AsyncConsole(code.InteractiveConsole):
    """The standard console, with top-level ``await`` run in ``loop``."""

    def __init__(self, namespace: dict[str, Any], loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(namespace, filename="<plait shell>")
        self.compile.compiler.flags |= ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        self.loop = loop

    def runcode(self, code: types.CodeType) -> None:
        function = types.FunctionType(code, self.locals)
        try:
            result = function()
            if inspect.iscoroutine(result):
                self.loop.run_until_complete(result)
        except SystemExit:
            raise
        except BaseException:
            self.showtraceback()


@contextlib.asynccontextmanager
async def shell_namespace(loaded: LoadedApp) -> AsyncIterator[dict[str, Any]]:
    """What the shell starts with: ``app``, ``settings``, and what the batteries add."""
    app = loaded.app
    namespace: dict[str, Any] = {"app": app, "settings": app_settings(loaded)}
    async with contextlib.AsyncExitStack() as stack:
        for contribute in battery_entry_points(ENTRY_POINT_GROUP):
            namespace.update(await stack.enter_async_context(contribute(app)))
        yield namespace


def _banner(namespace: dict[str, Any], interface: str) -> str:
    names = ", ".join(sorted(name for name in namespace if not name.startswith("_")))
    return (
        f"plait shell ({interface}, Python {sys.version.split()[0]}); top-level await works.\n"
        f"Loaded: {names}"
    )


def _ipython_loop() -> asyncio.AbstractEventLoop:
    """The loop IPython's ``autoawait`` runs cells in, so the session is usable there."""
    with contextlib.suppress(ImportError, AttributeError):
        helpers = importlib.import_module("IPython.core.async_helpers")
        loop: asyncio.AbstractEventLoop = helpers.get_asyncio_loop()
        return loop
    return asyncio.new_event_loop()


def _interface(choice: str) -> str:
    if choice != "auto":
        return choice
    try:
        importlib.import_module("IPython")
    except ImportError:
        return "python"
    return "ipython"


@click.command("shell")
@app_options
@auto_choice(
    "-i",
    "--interface",
    choices=("ipython", "python"),
    help="auto: IPython when installed, else the standard (asyncio) REPL.",
)
@click.option("-c", "--command", default=None, help="Run this code instead of a shell.")
def shell_command(app_spec: str, app_dir: str, interface: str, command: str | None) -> None:
    """A Python shell with APP, its settings, every model and a database session loaded.

    Top-level await works: `await session.scalars(select(Post))`. Commit with
    `await session.commit()`.
    """
    loaded = cli_load_app(app_spec, app_dir)
    chosen = "python" if command is not None else _interface(interface)
    loop = _ipython_loop() if chosen == "ipython" else asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    context = shell_namespace(loaded)
    namespace = loop.run_until_complete(context.__aenter__())
    try:
        if command is not None:
            flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
            compiled = compile(command, "<plait shell -c>", "exec", flags=flags)
            result = types.FunctionType(compiled, namespace)()  # an error exits non-zero
            if inspect.iscoroutine(result):
                loop.run_until_complete(result)
        elif chosen == "ipython":
            click.echo(_banner(namespace, "IPython"))
            importlib.import_module("IPython").start_ipython(argv=[], user_ns=namespace)
        else:
            AsyncConsole(namespace, loop).interact(_banner(namespace, "asyncio REPL"), "")
    finally:
        loop.run_until_complete(context.__aexit__(None, None, None))
        asyncio.set_event_loop(None)
        loop.close()
