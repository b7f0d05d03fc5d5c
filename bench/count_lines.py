#!/usr/bin/env python3
"""Count what a user maintains in each code-economy app: lines, files, dependencies, names.

    python bench/count_lines.py                # a table of every bench/economy/<framework>/<app>/
    python bench/count_lines.py --app hello    # one app, every framework
    python bench/count_lines.py --json         # machine-readable
    python bench/count_lines.py --write        # and update the table in docs/comparison.md

The apps are the same small programs written in each framework the way its docs teach
(``economy/<framework>/<app>/``, each with a ``requirements.txt`` of its direct
dependencies). For each one:

- **Python lines**: non-blank lines that hold code: not comments, not docstrings (a
  scaffold's docstrings read as comments) unless the framework reads them as code (the
  OpenAPI YAML Starlette's ``SchemaGenerator`` parses out of handler docstrings); generated
  scaffolding counts, since the user maintains it.
- **HTML lines**: non-blank lines of HTML templates (``.html``, ``.jinja``...): the user
  maintains them as they do the Python (the blog app's pages).
- **other lines**: non-blank lines of any other source that is not Python (CSS, JS, config).
- **typed into generated files**: of those, the lines a user typed into files a scaffold
  generated (``django-admin startproject``/``startapp``); they carry a ``# typed`` comment.
- **files**: every file but ``requirements.txt``, caches and generated migrations
  (``migrations/``: written by a command, not by hand; the other apps create their tables
  at start-up and have none).
- **deps**: the lines of ``requirements.txt``: what the user installs.
- **names**: distinct names the code takes from installed packages (any import that is
  neither the standard library nor the app's own modules, so SQLAlchemy and msgspec count
  wherever an app imports them): each name imported (``from flask import Flask, request``
  is two), each attribute read off one of those (``models.CharField``), and each attribute
  read off an object made by calling one or a parameter annotated with one (``app.get``
  after ``app = FastAPI()``). An approximation, the same for every framework.
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import sys
import tokenize
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

ECONOMY = Path(__file__).resolve().parent / "economy"
COMPARISON = Path(__file__).resolve().parent.parent / "docs" / "comparison.md"
START, END = "<!-- economy-table:start -->", "<!-- economy-table:end -->"
SKIP_DIRS = {"__pycache__", ".venv", "node_modules", ".pytest_cache", ".mypy_cache", "instance"}
GENERATED_DIRS = {"migrations"}
TYPED_MARK = "# typed"
HTML_SUFFIXES = {".html", ".htm", ".jinja", ".jinja2", ".j2"}
OTHER_SUFFIXES = {".txt", ".css", ".js", ".toml", ".cfg"}


@dataclass
class Count:
    framework: str
    app: str
    python_lines: int
    typed_into_generated: int
    html_lines: int
    other_lines: int
    files: int
    deps: int
    names: int
    stack: str


def _docstring_lines(source: str) -> set[int]:
    """The lines of docstrings, except those a framework reads as code: Starlette's
    ``SchemaGenerator`` takes each handler's OpenAPI description from its docstring (YAML)."""
    kinds: tuple[type[ast.AST], ...] = (ast.Module, ast.ClassDef)
    if "SchemaGenerator" not in source:
        kinds += (ast.FunctionDef, ast.AsyncFunctionDef)
    lines: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, kinds):
            first = node.body[0] if node.body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                lines.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return lines


def _code_lines(source: str) -> tuple[set[int], set[int]]:
    """The lines holding code, and those of them marked ``# typed``."""
    lines: set[int] = set()
    marked: set[int] = set()
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT and token.string.strip() == TYPED_MARK:
            marked.add(token.start[0])
        elif token.type not in skip and token.type != tokenize.ENDMARKER:
            lines.update(range(token.start[0], token.end[0] + 1))
    code = lines - _docstring_lines(source)
    return code, marked & code


def python_lines(source: str) -> int:
    """Non-blank lines with at least one token that is not a comment, outside docstrings."""
    return len(_code_lines(source)[0])


def typed_lines(source: str) -> int:
    """Code lines a user typed into a generated file (marked ``# typed``)."""
    return len(_code_lines(source)[1])


def requirements(app_dir: Path) -> list[str]:
    path = app_dir / "requirements.txt"
    if not path.exists():
        return []
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def installed_packages(sources: list[str], local: set[str]) -> set[str]:
    """Top-level packages the sources import that are neither stdlib nor the app's own."""
    packages: set[str] = set()
    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                packages.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                packages.add(node.module.split(".")[0])
    return packages - set(sys.stdlib_module_names) - local - {"__future__"}


class _Names(ast.NodeVisitor):
    """Qualified names taken from the given top-level packages."""

    def __init__(self, packages: set[str]) -> None:
        self.packages = packages
        self.aliases: dict[str, str] = {}
        self.names: set[str] = set()

    def _qualify(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self._qualify(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.split(".")[0] in self.packages:
                local = alias.asname or alias.name.split(".")[0]
                self.aliases[local] = alias.name if alias.asname else local

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0 and node.module and node.module.split(".")[0] in self.packages:
            for alias in node.names:
                qualified = f"{node.module}.{alias.name}"
                self.names.add(qualified)
                self.aliases[alias.asname or alias.name] = qualified

    def _bind_instance(self, target: ast.AST, value: ast.AST | None) -> None:
        if isinstance(target, ast.Name) and isinstance(value, ast.Call):
            made_by = self._qualify(value.func)
            if made_by:
                self.aliases[target.id] = f"{made_by}()"

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self._bind_instance(target, node.value)
            self.visit(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        self._bind_instance(node.target, node.value)
        self.visit(node.annotation)

    def visit_arg(self, node: ast.arg) -> None:
        if node.annotation is not None:
            self.visit(node.annotation)
            made_by = self._qualify(node.annotation)
            if made_by:
                self.aliases[node.arg] = f"{made_by}()"

    def visit_Attribute(self, node: ast.Attribute) -> None:
        qualified = self._qualify(node)
        if qualified:
            self.names.add(qualified)
        self.generic_visit(node)


def framework_names(sources: list[str], packages: set[str]) -> set[str]:
    names: set[str] = set()
    for source in sources:
        visitor = _Names(packages)
        visitor.visit(ast.parse(source))
        names |= visitor.names
    return names


def _text_lines(paths: Iterable[Path]) -> int:
    """Non-blank lines of non-Python sources."""
    return sum(1 for path in paths for line in path.read_text().splitlines() if line.strip())


def count_app(app_dir: Path) -> Count:
    files = [
        path
        for path in sorted(app_dir.rglob("*"))
        if path.is_file()
        and path.name != "requirements.txt"
        and not (SKIP_DIRS | GENERATED_DIRS).intersection(path.relative_to(app_dir).parts)
        and path.suffix not in {".pyc", ".sqlite3", ".db"}
    ]
    sources = [path.read_text() for path in files if path.suffix == ".py"]
    deps = requirements(app_dir)
    local = {path.stem for path in app_dir.rglob("*") if path.suffix == ".py" or path.is_dir()}
    return Count(
        framework=app_dir.parent.name,
        app=app_dir.name,
        python_lines=sum(python_lines(source) for source in sources),
        typed_into_generated=sum(typed_lines(source) for source in sources),
        html_lines=_text_lines(path for path in files if path.suffix in HTML_SUFFIXES),
        other_lines=_text_lines(path for path in files if path.suffix in OTHER_SUFFIXES),
        files=len(files),
        deps=len(deps),
        names=len(framework_names(sources, installed_packages(sources, local))),
        stack=" + ".join(deps),
    )


def count_all(root: Path = ECONOMY, app: str | None = None) -> list[Count]:
    return [
        count_app(app_dir)
        for framework_dir in sorted(path for path in root.iterdir() if path.is_dir())
        for app_dir in sorted(path for path in framework_dir.iterdir() if path.is_dir())
        if app is None or app_dir.name == app
    ]


APP_ORDER = {"hello": 0, "crud": 1, "blog": 2}


def markdown(counts: list[Count]) -> str:
    """One table per app, fewest Python lines first; columns that are all zero left out."""
    out = []
    for app in sorted({c.app for c in counts}, key=lambda app: (APP_ORDER.get(app, 9), app)):
        rows = sorted((c for c in counts if c.app == app), key=lambda c: (c.python_lines, c.files))
        typed = any(c.typed_into_generated for c in rows)
        html = any(c.html_lines for c in rows)
        other = any(c.other_lines for c in rows)
        header = ["framework", "installs", "Python lines"]
        header += ["of which typed into generated files"] if typed else []
        header += ["HTML lines"] if html else []
        header += ["other lines"] if other else []
        header += ["files", "deps", "names"]
        out += [f"#### {app}", "", "| " + " | ".join(header) + " |"]
        out.append("|---|---|" + "---:|" * (len(header) - 2))
        for c in rows:
            cells = [
                c.framework,
                " + ".join(f"`{dep}`" for dep in c.stack.split(" + ") if dep),
                str(c.python_lines),
            ]
            cells += [str(c.typed_into_generated or "")] if typed else []
            cells += [str(c.html_lines)] if html else []
            cells += [str(c.other_lines)] if other else []
            cells += [str(c.files), str(c.deps), str(c.names)]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def write_table(table: str, path: Path = COMPARISON) -> None:
    """Replace what stands between the markers in ``path`` with ``table``."""
    text = path.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{path}: no {START} ... {END} markers to write the table between")
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    path.write_text(f"{before}{START}\n\n{table}\n{END}{after}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--app", help="only this app (e.g. hello)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    parser.add_argument("--root", type=Path, default=ECONOMY, help="default bench/economy")
    parser.add_argument(
        "--write", action="store_true", help=f"also write the table into {COMPARISON.name}"
    )
    args = parser.parse_args(argv)
    counts = count_all(args.root, args.app)
    if args.json:
        print(json.dumps([asdict(count) for count in counts], indent=1))
    else:
        print(markdown(counts), end="")
    if args.write:
        write_table(markdown(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
