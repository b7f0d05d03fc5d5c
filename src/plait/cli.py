"""The ``plait`` command: ``plait run``, ``plait routes`` and the commands batteries add.

``main`` is a click group. Add a command to it in one of two ways:

* in code, ``main.add_command(command)``: for commands that ship inside plait itself;
* from any installed package, an entry point in the ``plait.commands`` group, whose name is
  the command's name and whose object is a ``click.Command`` (often a ``click.Group``)::

      [project.entry-points."plait.commands"]
      db = "plait.db.cli:db"

  Entry-point commands are imported only when they are run or listed by ``plait --help``; one
  that fails to import shows up as a command that explains the failure instead of breaking
  ``plait`` as a whole.

Commands that need the user's app take it as ``APP`` (``module:attr``,
``path/to/file.py:attr`` or a bare ``module`` meaning ``module:app``; the ``PLAIT_APP``
environment variable is the default) and call :func:`load_app`, which turns every way of
getting it wrong into a short click error (exit code 2) instead of a traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any, TypeVar

import click

from plait.__about__ import __version__
from plait._checkcli import check_command, startup_checks
from plait._clients._cli import client_command
from plait._clioptions import app_options, auto_choice
from plait._collectstatic import collectstatic_command
from plait._loading import (
    AppLoadError,
    LoadedApp,
    app_argument,
    cli_load_app,
    load_app,
)
from plait._new import new_command
from plait._optional import MissingDependencyError
from plait._routing import Mount, Route, WebSocketRoute
from plait._serve import (
    DEFAULT_RELOAD_INCLUDES,
    ServeOptions,
    check_port,
    reload_dirs_for,
    serve_granian,
    serve_uvicorn,
)
from plait._settings import BODY_TIMEOUT_ENV, DEBUG_ENV, SERVER_HEADER_ENV, Settings
from plait._shell import shell_command
from plait.openapi._cli import openapi_command

__all__ = [
    "ENTRY_POINT_GROUP",
    "AppLoadError",
    "LoadedApp",
    "PlaitGroup",
    "app_argument",
    "cli_load_app",
    "format_routes",
    "load_app",
    "main",
]

ENTRY_POINT_GROUP = "plait.commands"

F = TypeVar("F", bound=Callable[..., Any])


# ------------------------------------------------------------------------- the group


def _discover() -> Iterable[EntryPoint]:
    return entry_points(group=ENTRY_POINT_GROUP)


def _broken_command(name: str, entry_point: EntryPoint, problem: str, short: str) -> click.Command:
    message = f"The {name!r} command ({entry_point.value}) could not be loaded: {problem}"

    def fail() -> None:
        raise click.ClickException(message)

    # Whatever follows (`plait db migrate --app x`), the answer is why the command is missing.
    return click.Command(
        name,
        callback=fail,
        help=message,
        short_help=short,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )


def _load_failure(name: str, entry_point: EntryPoint, exc: Exception) -> click.Command:
    if isinstance(exc, MissingDependencyError):
        # A battery whose extra is not installed: its message says which one.
        extra = re.search(r"plait\[\w+\]", str(exc))
        short = f"(needs {extra.group()})" if extra else "(needs an extra)"
        return _broken_command(name, entry_point, str(exc), short)
    return _broken_command(name, entry_point, f"{type(exc).__name__}: {exc}", "(failed to load)")


class PlaitGroup(click.Group):
    """A click group that also offers the commands installed packages register under the
    ``plait.commands`` entry-point group (loaded lazily, built-in commands win)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plugins: dict[str, click.Command] = {}

    def _entry_points(self) -> dict[str, EntryPoint]:
        return {ep.name: ep for ep in _discover()}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._entry_points()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name in self._plugins:
            return command or self._plugins[cmd_name]
        entry_point = self._entry_points().get(cmd_name)
        if entry_point is None:
            return None
        try:
            loaded = entry_point.load()
        except Exception as exc:
            loaded = _load_failure(cmd_name, entry_point, exc)
        if not isinstance(loaded, click.Command):
            loaded = _broken_command(
                cmd_name, entry_point, "it is not a click command", "(failed to load)"
            )
        self._plugins[cmd_name] = loaded
        return loaded


@click.group(cls=PlaitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="plait")
def main() -> None:
    """plait: a fast async Python web framework.

    APP arguments are 'module:attr', 'path/to/file.py:attr' or 'module' (meaning
    'module:app'); the PLAIT_APP environment variable is the default.
    """


# ------------------------------------------------------------------------- plait run


def _reload_options(func: F) -> F:
    for option in (
        click.option(
            "--reload-exclude",
            "reload_excludes",
            multiple=True,
            metavar="GLOB",
            help="With --reload: files not to watch (a name or path glob; repeatable).",
        ),
        click.option(
            "--reload-include",
            "reload_includes",
            multiple=True,
            metavar="GLOB",
            help="With --reload: watch these files too, beside "
            f"{', '.join(DEFAULT_RELOAD_INCLUDES)} (repeatable).",
        ),
        click.option(
            "--reload-dir",
            "reload_dirs",
            multiple=True,
            type=click.Path(exists=True, file_okay=False, path_type=Path),
            help="With --reload: watch this directory instead of the app's package (repeatable).",
        ),
    ):
        func = option(func)
    return func


def _limit_options(func: F) -> F:
    for option in (
        click.option(
            "--limit-concurrency",
            type=click.IntRange(min=1),
            default=4096,
            show_default=True,
            help="Connections one worker serves at once; more wait to be accepted "
            "(granian) or get a 503 (uvicorn).",
        ),
        click.option(
            "--body-timeout",
            type=click.FloatRange(min=0),
            default=None,
            help="Seconds a request body may go without data before a 408 "
            f"[default: ${BODY_TIMEOUT_ENV} or 30; 0: none].",
        ),
        click.option(
            "--header-timeout",
            type=click.FloatRange(min=0),
            default=10.0,
            show_default=True,
            help="Seconds a client has to send a request's headers before it is closed (0: none).",
        ),
    ):
        func = option(func)
    return func


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port."
)
@click.option(
    "--reuse-port",
    is_flag=True,
    help="granian only: share a port another server holds (requests are split between them).",
)
@click.option(
    "--reload",
    is_flag=True,
    help="Restart when a Python or template file of the app changes (development).",
)
@_reload_options
@click.option("--debug", is_flag=True, help="Debug pages for errors (sets PLAIT_DEBUG=1).")
@click.option("--skip-checks", is_flag=True, help="Serve without running `plait check` first.")
@click.option(
    "--workers", type=click.IntRange(min=1), default=None, help="Worker processes (default 1)."
)
@click.option(
    "--respawn/--no-respawn",
    default=True,
    show_default=True,
    help="granian: start a new worker when one dies (uvicorn's workers always are).",
)
@click.option(
    "--access-log/--no-access-log",
    default=True,
    show_default=True,
    help="Log one line per request.",
)
@_limit_options
@click.option(
    "--server-header/--no-server-header",
    default=None,
    help="Name the server in a Server header [default: the SERVER_HEADER setting, on]. "
    "Off: an empty Server header (granian cannot drop its own).",
)
@auto_choice(
    "--server",
    choices=("granian", "uvicorn"),
    help="Server to run the app on. 'auto': granian, measured fastest for HTTP; uvicorn for "
    "an app with WebSocket routes or mounts, measured fastest for WebSockets (see "
    "docs/benchmarks.md).",
)
@auto_choice(
    "--interface",
    choices=("rsgi", "asgi"),
    help="granian only: RSGI (plait's native, fastest) or ASGI. 'auto' picks RSGI unless the "
    "app has WebSocket routes or mounts, which need ASGI's close codes and subprotocols.",
)
@app_options
def run(app_spec: str, app_dir: str, server: str, interface: str, **options: Any) -> None:
    """Serve APP over HTTP (for example: plait run examples/hello/app.py:app)."""
    if options["reload"] and options["workers"] is not None:
        raise click.UsageError("--reload and --workers can't be used together")
    if server == "uvicorn" and interface != "auto":
        raise click.UsageError("--interface applies to granian only")
    if server == "uvicorn" and (options["reuse_port"] or not options["respawn"]):
        raise click.UsageError("--reuse-port and --no-respawn apply to granian only")
    granian_only = interface != "auto" or options["reuse_port"] or not options["respawn"]
    # Before the app is imported: App() reads them, here and in every worker.
    if options.pop("debug"):
        os.environ[DEBUG_ENV] = "1"
    body_timeout = options.pop("body_timeout")
    if body_timeout is not None:
        os.environ[BODY_TIMEOUT_ENV] = f"{body_timeout:g}"
    if options["server_header"] is None:  # the app reads the same setting
        options["server_header"] = Settings.load(check=False).SERVER_HEADER
    else:
        os.environ[SERVER_HEADER_ENV] = "1" if options["server_header"] else "0"
    skip_checks = options.pop("skip_checks")
    loaded = cli_load_app(app_spec, app_dir)
    if not skip_checks:
        startup_checks(loaded, app_spec)
    settings = ServeOptions(
        **{
            **options,
            "reload_dirs": tuple(options["reload_dirs"])
            or reload_dirs_for(loaded.import_string.partition(":")[0]),
            "reload_includes": (*DEFAULT_RELOAD_INCLUDES, *options["reload_includes"]),
            "reload_excludes": tuple(options["reload_excludes"]),
        }
    )
    if server == "auto":
        server = "uvicorn" if _serves_websockets(loaded.app) and not granian_only else "granian"
    if not settings.reuse_port:
        hint = " (or pass --reuse-port to share it)" if server == "granian" else ""
        check_port(settings.host, settings.port, hint)
    where = f"http://{settings.host}:{settings.port}"
    if server == "granian":
        chosen = _granian_interface(loaded.app, interface)
        click.echo(
            f"plait: serving {app_spec} at {where} on granian over {chosen.upper()}", err=True
        )
        serve_granian(loaded.import_string, chosen, settings)
    else:
        click.echo(f"plait: serving {app_spec} at {where} on uvicorn", err=True)
        serve_uvicorn(loaded.import_string, settings)


def _granian_interface(app: Any, choice: str) -> str:
    """RSGI when asked, or by default when the app can use it without losing anything."""
    native = callable(getattr(app, "__rsgi__", None))
    if choice == "rsgi":
        if not native:
            raise click.UsageError("this app has no __rsgi__: serve it with --interface asgi")
        return "rsgi"
    if choice == "asgi" or not native:
        return "asgi"
    # granian's RSGI cannot send WebSocket close codes or a chosen subprotocol (2.8.9 neither):
    # an app with WebSocket routes, or mounts that may have some, keeps ASGI's semantics.
    routes = getattr(app, "routes", ())
    return "asgi" if any(isinstance(r, WebSocketRoute | Mount) for r in routes) else "rsgi"


def _serves_websockets(app: Any) -> bool:
    """Whether the app, or a plait app mounted in it, has WebSocket routes."""
    for route in getattr(app, "routes", ()):
        if isinstance(route, WebSocketRoute):
            return True
        if isinstance(route, Mount) and _serves_websockets(route.app):
            return True
    return False


# ------------------------------------------------------------------------- plait routes

_SORT_KEYS = ("methods", "path", "name", "handler")


def _handler_name(obj: Any) -> str:
    if not hasattr(obj, "__qualname__"):
        obj = type(obj)
    module = getattr(obj, "__module__", None)
    qualname: str = obj.__qualname__
    return f"{module}.{qualname}" if module else qualname


def _route_row(route: Route | WebSocketRoute | Mount) -> tuple[str, str, str, str]:
    if isinstance(route, Route):
        methods, handler = ",".join(sorted(route.methods)), route.endpoint
    elif isinstance(route, WebSocketRoute):
        methods, handler = "WEBSOCKET", route.endpoint
    else:
        methods, handler = "MOUNT", route.app
    path = route.path + "/..." if isinstance(route, Mount) else route.path
    return methods, path, route.name or "-", _handler_name(handler)


def format_routes(routes: Iterable[Route | WebSocketRoute | Mount], sort: str | None) -> str:
    """A plain-text table of ``routes``: methods, path, name, handler."""
    rows = [_route_row(route) for route in routes]
    if sort is not None:
        column = _SORT_KEYS.index(sort)
        rows.sort(key=lambda row: row[column])
    table = [tuple(key.upper() for key in _SORT_KEYS), *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(_SORT_KEYS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


@main.command()
@click.option(
    "--sort",
    type=click.Choice(_SORT_KEYS),
    default=None,
    help="Sort by this column (default: the order routes were registered in).",
)
@app_options
def routes(app_spec: str, app_dir: str, sort: str | None) -> None:
    """Print APP's routes: methods, path, name and handler."""
    app = cli_load_app(app_spec, app_dir).app
    app.build()  # the table it serves: with /docs, /redoc and /openapi.json when it has them
    if not app.routes:
        click.echo("No routes.")
        return
    click.echo(format_routes(app.routes, sort))


main.add_command(openapi_command)
main.add_command(check_command)
main.add_command(new_command)
main.add_command(collectstatic_command)
main.add_command(shell_command)
main.add_command(client_command)
