"""Finding the user's app from an ``APP`` argument (``module:attr``, ``path/to/file.py:attr``
or a bare ``module``), for ``plait`` commands: every way of getting it wrong becomes a
one-line error (a click usage error for commands) instead of a traceback."""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from pathlib import Path
from typing import Any, NamedTuple

import click

from plait._app import App
from plait._clioptions import app_options
from plait._routing import Router
from plait._settings import Settings

__all__ = [
    "SPEC_HELP",
    "AppLoadError",
    "LoadedApp",
    "app_argument",
    "app_settings",
    "cli_load_app",
    "load_app",
]

SPEC_HELP = "expected 'module:attr', 'path/to/file.py:attr' or 'module' (meaning 'module:app')"


class AppLoadError(Exception):
    """The APP argument does not name a plait app; the message says why."""


class LoadedApp(NamedTuple):
    """An app found from an APP argument, and the import string servers re-import it by."""

    app: App
    import_string: str


def _module_for_file(spec_path: str) -> tuple[str, str]:
    """``examples/hello/app.py`` -> (``app``, ``/abs/examples/hello``), walking up packages."""
    path = Path(spec_path).resolve()
    if path.is_dir():
        path = path / "__init__.py"
    if not path.is_file():
        raise AppLoadError(f"File {spec_path!r} does not exist")
    if path.suffix != ".py":
        raise AppLoadError(f"{spec_path!r} is not a Python file; {SPEC_HELP}")
    parts = [] if path.stem == "__init__" else [path.stem]
    directory = path.parent
    while (directory / "__init__.py").is_file():
        parts.append(directory.name)
        directory = directory.parent
    return ".".join(reversed(parts)), str(directory)


def _parse_spec(spec: str) -> tuple[str, str, str | None]:
    """Split APP into (module name, attribute path, directory to import the module from)."""
    target, sep, attr = spec.partition(":")
    if not sep:
        attr = "app"
    if not target or not all(part.isidentifier() for part in attr.split(".")):
        raise AppLoadError(f"{spec!r} is not an app; {SPEC_HELP}")
    if target.endswith(".py") or "/" in target or os.sep in target:
        module, directory = _module_for_file(target)
        return module, attr, directory
    if not all(part.isidentifier() for part in target.split(".")):
        raise AppLoadError(f"{target!r} is not a module name; {SPEC_HELP}")
    return target, attr, None


def _user_frames(exc: BaseException) -> Any:
    """The traceback of ``exc`` without the frames of this module and of importlib."""
    tb = exc.__traceback__
    while tb is not None and (
        tb.tb_frame.f_code.co_filename == __file__ or "importlib" in tb.tb_frame.f_code.co_filename
    ):
        tb = tb.tb_next
    return tb


def _import(module_name: str) -> Any:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing == module_name or module_name.startswith(missing + "."):
            raise AppLoadError(
                f"Could not import {module_name!r}: no module named {missing!r} "
                "(is the current directory, or --app-dir, the right one?)"
            ) from None
        error: BaseException = exc
    except Exception as exc:
        error = exc
    # The app's own code failed: its traceback is what the user needs to see.
    click.echo(
        "".join(traceback.format_exception(type(error), error, _user_frames(error))),
        err=True,
        nl=False,
    )
    raise AppLoadError(
        f"Importing {module_name!r} failed with {type(error).__name__}: {error} (traceback above)"
    ) from None


def _app_names(module: Any) -> list[str]:
    return sorted(name for name, value in vars(module).items() if isinstance(value, App))


def load_app(spec: str, app_dir: str | os.PathLike[str] = ".") -> LoadedApp:
    """Import the app named by ``spec`` (an APP argument), with ``app_dir`` on ``sys.path``.

    Raises :class:`AppLoadError` with a one-line explanation when ``spec`` is malformed, the
    module can't be found, the attribute is missing, or the object is not a plait ``App``.
    """
    module_name, attr, file_dir = _parse_spec(spec)
    for directory in (str(Path(app_dir).resolve()), file_dir):
        if directory is not None and directory not in sys.path:
            sys.path.insert(0, directory)
    module = _import(module_name)
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            found = _app_names(module)
            hint = f"; it has these apps: {', '.join(found)}" if found else ""
            raise AppLoadError(f"Module {module_name!r} has no attribute {attr!r}{hint}")
        obj = getattr(obj, part)
    if not isinstance(obj, App):
        hint = "; include it in an App with app.include_router()" if isinstance(obj, Router) else ""
        raise AppLoadError(
            f"{module_name}:{attr} is not a plait App (got {type(obj).__name__}{hint})"
        )
    return LoadedApp(obj, f"{module_name}:{attr}")


app_argument = app_options
"""Add ``--app APP`` (with a positional ``APP`` as its alias) and ``--app-dir``; the command
gets ``app_spec`` and ``app_dir`` and calls :func:`cli_load_app` with them."""


def cli_load_app(app_spec: str, app_dir: str) -> LoadedApp:
    """:func:`load_app` for a command: failures become a click usage error (exit code 2)."""
    try:
        return load_app(app_spec, app_dir)
    except AppLoadError as exc:
        raise click.BadParameter(
            str(exc), ctx=click.get_current_context(silent=True), param_hint="APP"
        ) from None


def app_settings(loaded: LoadedApp) -> Settings:
    """The settings object the app's module made (``settings = ShopSettings.load()``), so
    commands read the app's own settings class (its prefix, defaults and checks); the
    environment's plain :class:`Settings` when the module has none."""
    module = sys.modules.get(loaded.import_string.partition(":")[0])
    for value in vars(module).values() if module is not None else ():
        if isinstance(value, Settings):
            return value
    return Settings.load(check=False)
