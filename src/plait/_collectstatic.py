"""``plait collectstatic``: every static folder of an app, gathered into one for production.

Each ``app.static(...)`` mount is copied into ``STATIC_ROOT/<mount path>/``, and so are the
files batteries serve themselves (the admin's stylesheet, the API docs' scripts), for a
proxy to serve. Every file is there twice: under its own name and under a
content-hashed one (``css/app.3f2a9c1b7e4d.css``), listed in ``staticfiles.json``.
Text files also get ``.gz`` twins (and ``.br`` when the ``brotli`` package is installed).
With DEBUG off the app serves that folder: hashed names with ``Cache-Control: immutable``,
and ``static_url("css/app.css")`` in templates gives the hashed URL.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib
import json
import os
import posixpath
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from plait._app import App
from plait._clioptions import app_options, path_option
from plait._collected import collected_directory, static_mounts
from plait._loading import cli_load_app
from plait._plugins import battery_entry_points
from plait._progress import Progress
from plait._settings import Settings
from plait._staticfiles import MANIFEST

__all__ = [
    "ENTRY_POINT_GROUP",
    "Collected",
    "collect_static",
    "collectstatic_command",
    "hashed_name",
    "static_folders",
]

ENTRY_POINT_GROUP = "plait.static"
"""Batteries' static files: a function ``(app) -> [(url_path, folder), ...]``."""

_COMPRESSIBLE = frozenset(
    {".css", ".js", ".mjs", ".json", ".map", ".svg", ".html", ".txt", ".xml", ".wasm", ".ico"}
)
_MIN_COMPRESS = 256  # bytes: smaller files gain nothing from it
_TWINS = (".gz", ".br")


@dataclass
class Collected:
    """What :func:`collect_static` did."""

    files: int = 0
    compressed: int = 0
    folders: int = 0


def hashed_name(name: str, content: bytes) -> str:
    """``css/app.css`` -> ``css/app.3f2a9c1b7e4d.css`` (12 hex digits of its SHA-256)."""
    digest = hashlib.sha256(content).hexdigest()[:12]
    head, dot, suffix = name.rpartition(".")
    if not dot or "/" in suffix:
        return f"{name}.{digest}"
    return f"{head}.{digest}.{suffix}"


def _sources(directory: Path) -> list[Path]:
    """The files to publish: not hidden (``.env``, ``.git``) and not precompressed twins."""
    found = []
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if any(part.startswith(".") for part in relative.parts) or path.suffix in _TWINS:
            continue
        if path.is_file():
            found.append(path)
    return found


def _brotli() -> Any:
    try:
        return importlib.import_module("brotli")
    except ImportError:
        return None


def _compress(path: Path, content: bytes, brotli: Any) -> int:
    """Write ``path``'s ``.gz`` (and ``.br``) twins when they are worth it; return how many."""
    if path.suffix.lower() not in _COMPRESSIBLE or len(content) < _MIN_COMPRESS:
        return 0
    written = 0
    gzipped = gzip.compress(content, compresslevel=9, mtime=0)
    if len(gzipped) < len(content) * 0.9:
        path.with_name(path.name + ".gz").write_bytes(gzipped)
        written += 1
    if brotli is not None:
        packed: bytes = brotli.compress(content)
        if len(packed) < len(content) * 0.9:
            path.with_name(path.name + ".br").write_bytes(packed)
            written += 1
    return written


_CSS_URL = re.compile(rb"""url\(\s*(['"]?)([^'"()\s]+)\1\s*\)|@import\s+(['"])([^'"]+)\3""")


def _rewrite_css(name: str, content: bytes, manifest: dict[str, str]) -> bytes:
    """``url(../img/logo.png)`` in the stylesheet ``name`` -> the hashed name of that file,
    when it was collected (Django's ManifestStaticFilesStorage does the same): the hashed
    stylesheet then only points to hashed, immutable files."""
    base = posixpath.dirname(name)

    def hashed(match: re.Match[bytes]) -> bytes:
        reference = (match.group(2) or match.group(4)).decode("utf-8", "replace")
        if reference.startswith(("data:", "http:", "https:", "//", "#", "/")):
            return match.group(0)
        path, cut, rest = _split(reference)
        target = manifest.get(posixpath.normpath(posixpath.join(base, path)))
        if target is None:
            return match.group(0)
        relative = posixpath.relpath(target, base or ".") + cut + rest
        return match.group(0).replace(reference.encode(), relative.encode(), 1)

    return _CSS_URL.sub(hashed, content)


def _split(reference: str) -> tuple[str, str, str]:
    """``img/a.png?v=1#x`` -> (``img/a.png``, ``?``, ``v=1#x``)."""
    for index, char in enumerate(reference):
        if char in "?#":
            return reference[:index], char, reference[index + 1 :]
    return reference, "", ""


def _hashed_files(folder: Path, sources: list[Path]) -> list[tuple[str, bytes, str, bytes]]:
    """(name, content, hashed name, hashed copy's content) of each file. A stylesheet's
    hashed copy has its ``url(...)``s and ``@import``s pointing to hashed names (resolved
    over a few passes, so a stylesheet importing another gets the other's final name)."""
    contents = {source.relative_to(folder).as_posix(): source.read_bytes() for source in sources}
    manifest = {name: hashed_name(name, content) for name, content in contents.items()}
    stylesheets = [name for name in contents if name.lower().endswith(".css")]
    rewritten = {name: contents[name] for name in stylesheets}
    for _ in range(3):  # @import chains deeper than that keep a plain name: still correct
        for name in stylesheets:
            rewritten[name] = _rewrite_css(name, contents[name], manifest)
            manifest[name] = hashed_name(name, rewritten[name])
    return [
        (name, content, manifest[name], rewritten.get(name, content))
        for name, content in contents.items()
    ]


def _prepare(target: Path) -> None:
    """Empty ``target`` when a previous run made it; refuse a folder that is something else."""
    if not target.exists():
        return
    if not (target / MANIFEST).is_file() and any(target.iterdir()):
        raise click.ClickException(
            f"{target} exists and was not made by collectstatic (no {MANIFEST}): "
            "choose another --output"
        )
    shutil.rmtree(target)


def static_folders(app: App) -> dict[str, Path]:
    """URL path -> folder: the app's static mounts, then the files batteries serve
    themselves (``plait.static`` entry points: the admin's, the API docs' pages)."""
    folders = {path: Path(files.directory) for path, files in static_mounts(app).items()}
    for contribute in battery_entry_points(ENTRY_POINT_GROUP):
        for path, folder in contribute(app):
            folders.setdefault(path, Path(folder))
    return folders


def collect_static(app: App, root: str | os.PathLike[str], *, compress: bool = True) -> Collected:
    """Copy ``app``'s static folders into ``root``, with hashed names and a manifest each."""
    folders = static_folders(app)
    plan = [(path, folder, _sources(folder)) for path, folder in folders.items()]
    result = Collected(folders=len(plan))
    brotli = _brotli() if compress else None
    total = sum(len(sources) for _, _, sources in plan)
    with Progress("collecting static files", total=total) as progress:
        for mount_path, folder, sources in plan:
            target = Path(collected_directory(root, mount_path))
            _prepare(target)
            manifest: dict[str, str] = {}
            for name, content, hashed, hashed_content in _hashed_files(folder, sources):
                manifest[name] = hashed
                for published, body in (
                    (target / name, content),
                    (target / hashed, hashed_content),
                ):
                    published.parent.mkdir(parents=True, exist_ok=True)
                    published.write_bytes(body)
                    if compress:
                        result.compressed += _compress(published, body, brotli)
                result.files += 1
                progress.advance()
            target.mkdir(parents=True, exist_ok=True)
            document = {"version": 1, "paths": dict(sorted(manifest.items()))}
            (target / MANIFEST).write_text(json.dumps(document, indent=2) + "\n", "utf-8")
    return result


@click.command("collectstatic")
@app_options
@path_option(
    "-o",
    "--output",
    folder=True,
    help="The folder to fill [default: the STATIC_ROOT setting, ./staticfiles].",
)
@click.option(
    "--compress/--no-compress",
    default=True,
    show_default=True,
    help="Write .gz (and, with the brotli package, .br) twins of text files.",
)
def collectstatic_command(app_spec: str, app_dir: str, output: Path | None, compress: bool) -> None:
    """Gather APP's static files (its own and its batteries') into one folder for production.

    Each file gets a content-hashed copy listed in staticfiles.json; with DEBUG off, the app
    serves them with Cache-Control: immutable, and static_url() in templates points to them.
    """
    app = cli_load_app(app_spec, app_dir).app
    root = output if output is not None else Path(Settings.load(check=False).STATIC_ROOT)
    if not static_folders(app):
        raise click.ClickException(
            f"{app_spec} serves no static files: add app.static('/static', 'static', "
            "name='static') first"
        )
    result = collect_static(app, root, compress=compress)
    click.echo(
        f"Collected {result.files} file(s) from {result.folders} folder(s) into {root} "
        f"(each with a hashed copy; {result.compressed} compressed twin(s))"
    )
