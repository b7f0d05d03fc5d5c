"""plait's core layers, read from its imports: the check, and docs/architecture.md's diagram.

The core modules (``src/plait/*.py`` and ``plait.openapi``) sit in six layers, lowest first
(``LAYERS``). A module may import, at module level (``TYPE_CHECKING`` blocks included), only
modules of its own layer or below, and the module-level imports form no cycle. A
function-local import of a plait module is allowed only where it breaks a real dependency
(an optional package, a battery above the core, a cycle through the package itself), with
a one-line reason in a comment on the line above it or on the import itself.

    python scripts/layers.py            # print the problems (exit 1 if any)
    python scripts/layers.py --write    # regenerate the diagram in docs/architecture.md
    python scripts/layers.py --check    # problems, or a stale diagram: exit 1
"""

from __future__ import annotations

import argparse
import ast
import functools
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "plait"
DOC = ROOT / "docs" / "architecture.md"
START, END = "<!-- layers:start -->", "<!-- layers:end -->"

LAYERS: list[tuple[str, list[str]]] = [
    (
        "foundations: types, exceptions, data structures, parameter declarations, settings",
        [
            "__about__",
            "types",
            "_exceptions",
            "_datastructures",
            "_params",
            "_convertors",
            "_concurrency",
            "_background",
            "_optional",
            "_negotiation",
            "_hosts",
            "_settings",
            "_formats",
            "_validation",
            "_bodytimeout",
        ],
    ),
    ("requests and responses", ["_responses", "_formparser", "_request"]),
    (
        "protocol pieces (WebSockets, SSE, files, RSGI), then rendering and signatures",
        [
            "_websockets",
            "_testwebsocket",
            "_shutdown",
            "_sse",
            "_fileresponse",
            "_staticfiles",
            "_rsgiscope",
            "_rsgi",
            "_debug",
            "_signature",
            "_results",
            "_extraction",
            "_bodyparams",
        ],
    ),
    ("routing and error handling", ["_routing", "_collected", "_errorhandling", "_outages"]),
    (
        "binding, the matcher, the pipeline and the app",
        ["_binding", "_matcher", "_pipeline", "_lifespan", "_app"],
    ),
    (
        "openapi, app loading, the CLI and the public surface",
        [
            "openapi._models",
            "openapi._schemas",
            "openapi._responses",
            "openapi._operation",
            "openapi._ui",
            "openapi._generator",
            "openapi._routes",
            "openapi",
            "openapi.*",
            "__init__",
            "_progress",
            "_clioptions",
            "_loading",
            "checks",
            "_deploychecks",
            "_checkcli",
            "_collectstatic",
            "_new",
            "_plugins",
            "_shell",
            "_clients",
            "_clients.*",
            "openapi._cli",
            "_serve",
            "_uvicorn",
            "cli",
            "__main__",
            "testing",
            "wsgi",
        ],
    ),
]


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int
    local: bool
    reason: str | None


def _packages() -> list[str]:
    """The core's subpackages: openapi, and the private ones (``plait._clients``)."""
    return ["openapi", *sorted(p.name for p in SRC.glob("_*/") if (p / "__init__.py").is_file())]


def _modules() -> dict[str, Path]:
    found = {p.stem: p for p in SRC.glob("*.py")}
    for package in _packages():
        for path in (SRC / package).glob("*.py"):
            found[package if path.stem == "__init__" else f"{package}.{path.stem}"] = path
    return found


def _target(node: ast.ImportFrom | ast.Import, source: str, known: set[str]) -> Iterator[str]:
    """The plait modules an import statement loads (``"__init__"`` for ``plait`` itself;
    a battery as ``"plait.<name>"``)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:  # relative: from the source's package
            package = ["plait", *source.split(".")[:-1]] if "." in source else ["plait"]
            base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
        names = [base] + [f"{base}.{alias.name}" for alias in node.names]
    for name in names:
        if name != "plait" and not name.startswith("plait."):
            continue
        short = name.removeprefix("plait").removeprefix(".") or "__init__"
        if short in known:
            yield short
        elif (SRC / short.split(".")[0]).is_dir() and short.split(".")[0] not in _packages():
            yield "plait." + short.split(".")[0]  # a battery: above the core


def _reason(lines: list[str], line: int) -> str | None:
    """The comment on an import's line, or on one of the three lines above it."""
    for number in range(line, max(line - 4, 0), -1):
        text = lines[number - 1]
        if "#" in text:
            return text.split("#", 1)[1].strip() or None
    return None


@functools.cache
def imports() -> tuple[Import, ...]:
    """Every import of a plait module in the core, module-level and function-local."""
    modules = _modules()
    known = set(modules)
    found: list[Import] = []
    for source, path in sorted(modules.items()):
        text = path.read_text()
        lines = text.splitlines()
        tree = ast.parse(text)
        local_nodes = {
            id(node)
            for func in ast.walk(tree)
            if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef)
            for node in ast.walk(func)
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            local = id(node) in local_nodes
            targets = list(dict.fromkeys(_target(node, source, known)))
            if local and not targets:  # another package's: it needs a reason too
                module = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
                targets = [f"{module}"]
            for target in targets:
                if target != source:
                    reason = _reason(lines, node.lineno) if local else None
                    found.append(Import(source, target, node.lineno, local, reason))
    return tuple(found)


def layer_of() -> dict[str, int]:
    """Each core module's layer (``"pkg.*"`` in LAYERS places every module of a package)."""
    listed = {module: n for n, (_, modules) in enumerate(LAYERS, 1) for module in modules}
    for module in _modules():
        package = module.split(".")[0] + ".*"
        if module not in listed and package in listed:
            listed[module] = listed[package]
    return listed


def problems(layers: dict[str, int] | None = None) -> list[str]:
    """What breaks the rules, one line each (empty: the core runs one way)."""
    layers = layer_of() if layers is None else layers
    found = imports()
    out = [
        f"{name}.py has no layer: add it to LAYERS in scripts/layers.py"
        for name in sorted(set(_modules()) - set(layers))
    ]
    for imp in found:
        here, there = layers.get(imp.source, 0), layers.get(imp.target, 99)
        where = f"{imp.source}.py:{imp.line}"
        if imp.local:
            if imp.reason is None:
                out.append(f"{where}: function-local import of {imp.target} without a reason")
        elif there > here:
            out.append(f"{where}: imports {imp.target} (layer {there}) from layer {here}: upward")
    cycle = _cycle({(i.source, i.target) for i in found if not i.local})
    if cycle:
        out.append("module-level import cycle: " + " -> ".join(cycle))
    return out


def _cycle(edges: set[tuple[str, str]]) -> list[str]:
    graph: dict[str, list[str]] = {}
    for a, b in sorted(edges):
        graph.setdefault(a, []).append(b)
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return []

    for node in list(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def diagram() -> str:
    """The generated part of docs/architecture.md: each layer's modules and the layers its
    imports reach (coarse on purpose: it changes when a module or a layer's reach does)."""
    layers = layer_of()
    found = [i for i in imports() if not i.local]
    lines = [START, "", "```text"]
    for n, (title, _) in reversed(list(enumerate(LAYERS, 1))):
        modules = sorted((m for m, layer in layers.items() if layer == n and m in _modules()))
        reach = sorted(
            {layers[i.target] for i in found if layers.get(i.source) == n and i.target in layers}
        )
        lines.append(f"{n}. {title}")
        lines += _wrap(modules, "     ")
        below = ", ".join(str(r) for r in reach) if reach else "nothing"
        lines.append(f"     imports from layers: {below}")
        if n > 1:
            lines += ["     |", "     v"]
    lines.append("```")
    local = sorted({(i.source, i.target, i.reason) for i in imports() if i.local}, key=str)
    lines += ["", "Function-local imports, each with its reason:", ""]
    for source, target, reason in local:
        lines.append(f"- `{source}` imports `{target}`: {reason}")
    lines += ["", END]
    return "\n".join(lines)


def _wrap(names: list[str], indent: str, width: int = 92) -> list[str]:
    out, line = [], indent
    for name in names:
        if len(line) + len(name) + 2 > width and line.strip():
            out.append(line.rstrip(", ").rstrip() + ",")
            line = indent
        line += name + ", "
    out.append(line.rstrip(", "))
    return out


def current_doc() -> str:
    text = DOC.read_text()
    return text[text.index(START) : text.index(END) + len(END)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="regenerate docs/architecture.md")
    parser.add_argument("--check", action="store_true", help="also fail on a stale diagram")
    args = parser.parse_args()
    if args.write:
        text = DOC.read_text()
        DOC.write_text(text.replace(current_doc(), diagram()))
    found = problems()
    if args.check and current_doc() != diagram():
        found.append("docs/architecture.md is stale: run python scripts/layers.py --write")
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
