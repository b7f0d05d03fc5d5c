"""schemathesis fuzzes the todo_api example against its own OpenAPI document.

Valid and invalid requests alike must get an answer the document allows: no 5xx, a
documented status code and content type, and a body matching the documented schema.
"""

from __future__ import annotations

import collections
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings, strategies  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup  # noqa: E402

from plait import App, HTTPException  # noqa: E402

APP_FILE = Path(__file__).resolve().parents[2] / "examples" / "todo_api" / "app.py"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
FUZZ_SETTINGS = settings(deadline=None, database=None, suppress_health_check=list(HealthCheck))
SEEN: collections.Counter[tuple[str, int]] = collections.Counter()


def _load_todo_app() -> App:
    spec = importlib.util.spec_from_file_location("plait_example_todo_api_fuzz", APP_FILE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    app: App = module.app
    return app


def _config(max_examples: int) -> Any:
    config = schemathesis.Config()
    # Valid and invalid requests both: invalid ones must get documented 4xx answers.
    config.projects.default.generation.update(
        modes=list(schemathesis.GenerationMode), max_examples=max_examples, database="none"
    )
    return config


schema = schemathesis.openapi.from_asgi("/openapi.json", _load_todo_app(), config=_config(40))
# One test per operation, each a Hypothesis test of its own (``schema.parametrize()`` folds
# them into one pytest item, which pytest-xdist reports after the first operation only).
OPERATIONS = {op.label: op for op in (result.ok() for result in schema.get_all_operations())}


@pytest.mark.parametrize("label", list(OPERATIONS))
def test_todo_api_conforms_to_its_document(label: str) -> None:
    operation = OPERATIONS[label]
    cases = strategies.one_of(
        *(operation.as_strategy(generation_mode=mode) for mode in schemathesis.GenerationMode)
    )

    @given(cases)
    @settings(parent=FUZZ_SETTINGS, max_examples=40)
    def fuzz(case: Any) -> None:
        response = case.call_and_validate(checks=CHECKS)
        SEEN[case.operation.label, response.status_code // 100] += 1

    fuzz()


def test_the_fuzzer_sent_valid_and_invalid_requests() -> None:
    """Runs after the fuzz test above (file order): both kinds of input were exercised."""
    if not SEEN:
        pytest.skip("run together with test_todo_api_conforms_to_its_document")
    assert SEEN["POST /todos", 2] > 0
    assert SEEN["POST /todos", 4] > 0
    assert SEEN["GET /todos", 2] > 0
    assert SEEN["GET /todos", 4] > 0
    assert SEEN["PATCH /todos/{todo_id}", 4] > 0


def _broken_app() -> App:
    app = App(title="Broken")

    @app.get("/items/{item_id:int}")
    async def get_item(item_id: int) -> dict[str, int]:
        if item_id % 2:
            raise HTTPException(409, "undocumented")  # not in the document
        return {"id": item_id}

    return app


def test_the_checks_catch_an_undocumented_status() -> None:
    broken = schemathesis.openapi.from_asgi("/openapi.json", _broken_app(), config=_config(30))
    (operation,) = [result.ok() for result in broken.get_all_operations()]

    @given(operation.as_strategy())
    @FUZZ_SETTINGS
    def fuzz(case: Any) -> None:
        case.call_and_validate(checks=CHECKS)

    with pytest.raises(FailureGroup) as caught:
        fuzz()
    failures = caught.value.exceptions
    assert [type(f).__name__ for f in failures] == ["UndefinedStatusCode"]
    assert "Received: 409" in str(failures[0])
