"""Options that several ``plait`` commands share.

A module of its own: :mod:`plait.cli` imports the commands (``plait openapi``), so they
cannot import their options from it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import click

__all__ = [
    "APP_ENVVAR",
    "app_dir_option",
    "app_option",
    "app_options",
    "auto_choice",
    "path_option",
]

F = TypeVar("F", bound=Callable[..., Any])

APP_ENVVAR = "PLAIT_APP"


def app_dir_option(func: F) -> F:
    """``--app-dir``: the directory put first on ``sys.path`` to import APP from."""
    return click.option(
        "--app-dir",
        default=".",
        show_default=True,
        type=click.Path(file_okay=False),
        help="Directory put first on sys.path to import APP from.",
    )(func)


def app_option(func: F) -> F:
    """``--app APP`` (default ``$PLAIT_APP``, required) and ``--app-dir``, passed as
    ``app_spec`` and ``app_dir``: for the commands that take no positional APP (``plait db``,
    ``plait tasks``, ``plait createsuperuser``)."""
    func = app_dir_option(func)
    return click.option(
        "--app",
        "app_spec",
        envvar=APP_ENVVAR,
        required=True,
        metavar="APP",
        help=f"The app: 'module:app' or 'path/to/file.py:app' (default: ${APP_ENVVAR}).",
    )(func)


def app_options(func: F) -> F:
    """``--app APP`` (the spelling every command accepts), a positional ``APP`` as its alias,
    and ``--app-dir``; the command gets one ``app_spec`` (default: ``$PLAIT_APP``)."""

    @functools.wraps(func)
    def command(*args: Any, app_option: str | None, app_spec: str | None, **kwargs: Any) -> Any:
        if app_option and app_spec and app_option != app_spec:
            raise click.UsageError(f"The app is given twice: --app {app_option} and {app_spec}")
        spec = app_option or app_spec or os.environ.get(APP_ENVVAR)
        if not spec:
            raise click.UsageError(
                f"Which app? Give it as --app module:attr (or as APP, or in ${APP_ENVVAR})"
            )
        return func(*args, app_spec=spec, **kwargs)

    decorated = app_dir_option(command)
    decorated = click.option(
        "--app",
        "app_option",
        metavar="APP",
        default=None,
        help=f"The app: 'module:attr', 'path/to/file.py:attr' or 'module' (${APP_ENVVAR}).",
    )(decorated)
    return cast(F, click.argument("app_spec", metavar="[APP]", required=False)(decorated))


def path_option(
    *names: str, help: str, folder: bool = False, writable: bool = False
) -> Callable[[F], F]:
    """An option naming a file (with ``folder``: a folder) the command writes, passed as a
    :class:`~pathlib.Path`, ``None`` when not given: ``-o/--output``, ``--directory``."""
    kind = click.Path(file_okay=not folder, dir_okay=folder, writable=writable, path_type=Path)
    return click.option(*names, type=kind, default=None, help=help)


def auto_choice(*names: str, choices: Sequence[str], help: str) -> Callable[[F], F]:
    """An option picking one of ``choices``, or ``auto`` (the default: plait picks)."""
    kind = click.Choice(["auto", *choices])
    return click.option(*names, type=kind, default="auto", show_default=True, help=help)
