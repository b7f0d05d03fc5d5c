"""``plait new NAME``: a project that runs and passes its own tests at once.

The files come from ``_scaffold/``: ``common/`` for every project, then the template's own
(``api`` or ``site``). In names and contents ``__NAME__`` is the project's name,
``__PROJECT__`` its package, ``__PLAIT_VERSION__`` this plait's version; ``*.py-tpl`` files
lose their ``-tpl`` (so the scaffold's code is not linted as plait's own), ``gitignore`` and
``env`` become dotfiles. ``migrations/`` is plait.db's (its imports sorted for a project
where plait is a third-party package), with the first migration.
"""

from __future__ import annotations

import keyword
import re
import secrets
import subprocess
import sys
from pathlib import Path

import click

from plait.__about__ import __version__
from plait._clioptions import path_option
from plait._progress import Progress

__all__ = ["TEMPLATES", "new_command", "scaffold"]

SCAFFOLD = Path(__file__).resolve().parent / "_scaffold"
TEMPLATES = {"api": "db", "site": "db,templates"}
"""Each template and the plait extras its project needs (besides ``testing`` for its tests)."""
_DOTFILES = {"gitignore": ".gitignore", "env": ".env"}
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


def _package(name: str) -> str:
    package = name.replace("-", "_").lower()
    if keyword.iskeyword(package) or package in sys.stdlib_module_names or package == "plait":
        raise click.BadParameter(
            f"{name!r} would shadow a Python module ({package}): choose another name",
            param_hint="NAME",
        )
    return package


def _copy_tree(source: Path, target: Path, values: dict[str, str]) -> list[Path]:
    written = []
    for path in sorted(source.rglob("*")):
        if path.is_dir() or "__pycache__" in path.parts:
            continue
        relative = path.relative_to(source).as_posix()
        for key, value in values.items():
            relative = relative.replace(key, value)
        relative = _DOTFILES.get(relative, relative).removesuffix("-tpl")
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        text = path.read_text(encoding="utf-8")
        for key, value in values.items():
            text = text.replace(key, value)
        destination.write_text(text, encoding="utf-8")
        written.append(destination)
    return written


def scaffold(name: str, directory: Path, template: str = "api") -> list[Path]:
    """Write the project ``name`` from ``template`` into ``directory`` (which must not exist
    or be empty); return the files written."""
    if template not in TEMPLATES:
        raise ValueError(f"Unknown template {template!r}: one of {', '.join(TEMPLATES)}")
    if directory.exists() and any(directory.iterdir()):
        raise FileExistsError(f"{directory} already exists and is not empty")
    values = {
        "__PROJECT__": _package(name),
        "__NAME__": name,
        "__PLAIT_VERSION__": __version__,
        "__EXTRAS__": TEMPLATES[template],
        "__SECRET_KEY__": secrets.token_urlsafe(48),
    }
    written = _copy_tree(SCAFFOLD / "common", directory, values)
    written += _copy_tree(SCAFFOLD / template, directory, values)
    return written


def _install(directory: Path) -> None:
    """``pip install -e 'NAME[dev]'`` into this interpreter's environment, with progress."""
    command = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    command += ["-e", f"{directory}[dev]"]
    with Progress("installing the project (pip install -e '.[dev]')") as progress:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        progress.done("installed" if result.returncode == 0 else "install failed")
    if result.returncode != 0:
        click.echo(result.stdout + result.stderr, err=True)
        raise click.ClickException(f"pip could not install {directory}: see its output above")


@click.command("new")
@click.argument("name")
@click.option(
    "--template",
    "-t",
    type=click.Choice(sorted(TEMPLATES)),
    default="api",
    show_default=True,
    help="api: a JSON API; site: HTML pages, templates and static files, and an API.",
)
@path_option("--directory", folder=True, help="Where to write the project (default: ./NAME).")
@click.option(
    "--install",
    is_flag=True,
    help="Then pip install -e 'NAME[dev]' into the environment plait runs in.",
)
def new_command(name: str, template: str, directory: Path | None, install: bool) -> None:
    """Create the project NAME: settings, app, models and migrations, tests, a README.

    It runs and passes its tests at once: cd NAME && make test (or make demo).
    """
    if not _NAME.fullmatch(name):
        raise click.BadParameter(
            "a project name starts with a letter and has only letters, digits, - and _",
            param_hint="NAME",
        )
    target = directory if directory is not None else Path(name)
    try:
        files = scaffold(name, target, template)
    except FileExistsError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created {target}/ from the {template} template ({len(files)} files).")
    if install:
        _install(target)
    click.echo(f"Next: cd {target} && make test   (then: make demo)")
