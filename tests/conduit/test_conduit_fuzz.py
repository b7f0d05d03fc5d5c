"""schemathesis fuzzes examples/conduit against its own OpenAPI document (/api/openapi.json),
as an anonymous client and as a logged-in one: no server error, only documented statuses,
content types and bodies."""

from __future__ import annotations

import collections
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from _conduit_support import load_conduit, log_in, register  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.python import asgi  # noqa: E402

from plait.testing import TestClient  # noqa: E402

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
FUZZ = settings(
    deadline=None, database=None, max_examples=15, suppress_health_check=list(HealthCheck)
)


@pytest.fixture(autouse=True)
def _stop_apps() -> Iterator[None]:
    """schemathesis keeps each app's lifespan running; shut it (and its engine) down."""
    yield
    asgi.shutdown_lifespans()


def test_conduit_conforms_to_its_document(tmp_path: Path, fast_passwords: None) -> None:
    app, _, _ = load_conduit(f"sqlite+aiosqlite:///{tmp_path / 'fuzz.sqlite3'}")
    with TestClient(app) as client:
        register(client, "fuzzer")
        token = log_in(client, "fuzzer@example.com")
        made = client.post(
            "/api/articles",
            json={"article": {"title": "Fuzz", "description": "d", "body": "b"}},
            headers={"Authorization": f"Token {token}"},
        )
        assert made.status_code == 201
    config = schemathesis.Config()
    config.projects.default.generation.update(
        modes=list(schemathesis.GenerationMode), max_examples=15, database="none"
    )
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app, config=config)
    operations = [result.ok() for result in schema.get_all_operations()]
    # PUT /api/user may change the password, which ends the token: fuzz it last.
    operations.sort(key=lambda operation: operation.label == "PUT /api/user")
    assert len(operations) == 19
    seen: collections.Counter[int] = collections.Counter()
    for operation in operations:
        for headers in ({}, {"Authorization": f"Token {token}"}):
            fuzz(operation, headers, seen, examples=5 if headers else 2)
    assert not any(status >= 500 for status in seen), seen
    assert {200, 201, 401, 404, 422} <= set(seen), seen


def fuzz(
    operation: Any, headers: dict[str, str], seen: collections.Counter[int], examples: int
) -> None:
    @given(operation.as_strategy())
    @settings(FUZZ, max_examples=examples)
    def run(case: Any) -> None:
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS)
        seen[response.status_code] += 1

    run()
