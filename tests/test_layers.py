"""The core's imports run one way, down the layers of docs/architecture.md (issue 14)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("layers", ROOT / "scripts" / "layers.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["layers"] = module
    spec.loader.exec_module(module)
    return module


layers = _script()


def test_no_import_runs_back_up_and_every_local_import_says_why() -> None:
    assert layers.problems() == []


def test_every_core_module_has_a_layer() -> None:
    core = {p.stem for p in (ROOT / "src" / "plait").glob("*.py")}
    assert core <= set(layers.layer_of())


def test_the_diagram_in_docs_is_generated_from_the_imports() -> None:
    assert layers.current_doc() == layers.diagram(), "run: python scripts/layers.py --write"


def test_the_check_can_fail() -> None:
    # _exceptions moved to the top: every module that imports it now imports upward.
    moved = {**layers.layer_of(), "_exceptions": 6}
    found = layers.problems(moved)
    assert any("_request.py" in line and "_exceptions (layer 6)" in line for line in found)
    assert layers._cycle({("a", "b"), ("b", "c"), ("c", "a")}) == ["a", "b", "c", "a"]
    assert layers._cycle({("a", "b"), ("b", "c")}) == []


def test_import_plait_loads_no_battery_and_not_openapi() -> None:
    script = (
        "import sys, plait; "
        "print(sorted(m for m in sys.modules if m.startswith('plait.') "
        "and not m.split('.')[1].startswith('_') and m != 'plait.types'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
