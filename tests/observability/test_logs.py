"""plait.observability.AccessLog: one JSON line per request with its id; JSON formatting."""

from __future__ import annotations

import io
import json
import logging

import pytest

from plait import App
from plait.observability import AccessLog, JSONFormatter, configure_json_logging, request_id
from plait.testing import TestClient


def logged_app() -> App:
    app = App()
    AccessLog(app)

    @app.get("/items/{item_id:int}")
    def item(item_id: int) -> dict[str, str | None]:
        logging.getLogger("shop").info("looking up %s", item_id)
        return {"request_id": request_id()}

    return app


def test_one_json_line_per_request_with_its_id(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="plait.access")
    with TestClient(logged_app()) as client:
        response = client.get("/items/7")
        client.get("/missing")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "plait.access"]
    assert len(lines) == 2
    first, second = lines
    rid = response.headers["x-request-id"]
    assert first["request_id"] == rid == response.json()["request_id"]
    assert first["route"] == "/items/{item_id:int}"
    assert first["path"] == "/items/7"
    assert first["status"] == 200
    assert first["method"] == "GET"
    assert first["duration_ms"] >= 0
    assert second["route"] == "<unmatched>"
    assert second["status"] == 404
    assert second["request_id"] != rid


def test_nothing_is_logged_when_the_logger_is_off(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="plait.access")
    with TestClient(logged_app()) as client:
        assert client.get("/items/1").status_code == 200
    assert [r for r in caplog.records if r.name == "plait.access"] == []


def test_json_formatter_adds_the_request_id_to_the_apps_own_lines() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JSONFormatter())
    shop, access = logging.getLogger("shop"), logging.getLogger("plait.access")
    for logger in (shop, access):
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        with TestClient(logged_app()) as client:
            rid = client.get("/items/3").headers["x-request-id"]
    finally:
        for logger in (shop, access):
            logger.removeHandler(handler)
            logger.setLevel(logging.NOTSET)
    app_line, access_line = (json.loads(line) for line in stream.getvalue().splitlines())
    assert app_line["message"] == "looking up 3"
    assert app_line["request_id"] == rid
    assert app_line["level"] == "INFO"
    assert app_line["time"].endswith("Z")
    assert access_line["request_id"] == rid
    assert access_line["status"] == 200
    assert "message" not in access_line  # the fields themselves, at the top level


def test_configure_json_logging_writes_from_a_thread() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    before_handlers, before_level = list(root.handlers), root.level
    listener = configure_json_logging(stream=stream)
    try:
        with TestClient(logged_app()) as client:
            rid = client.get("/items/5").headers["x-request-id"]
    finally:
        listener.stop()
        for handler in root.handlers[:]:
            if handler not in before_handlers:
                root.removeHandler(handler)
        root.setLevel(before_level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    mine = [line for line in lines if line.get("request_id") == rid]
    assert {line["logger"] for line in mine} == {"shop", "plait.access"}
