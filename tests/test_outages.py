"""A backing service's outage: 503 + Retry-After, one log line per outage, recovery by itself."""

from __future__ import annotations

import logging

import pytest

from plait import App, BackingService, ServiceUnavailable
from plait.testing import TestClient


class Flaky:
    """A stand-in service client that is up or down."""

    def __init__(self) -> None:
        self.up = True

    async def get(self) -> str:
        if not self.up:
            raise ConnectionRefusedError(111, "Connection refused")
        return "value"


def make_app(service: BackingService, client: Flaky) -> App:
    app = App()

    @app.get("/value")
    async def value() -> dict[str, str]:
        with service:
            return {"value": await client.get()}

    @app.get("/bug")
    async def bug() -> dict[str, str]:
        with service:
            raise KeyError("not an outage")

    return app


def outage_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "plait.outage"]


def test_an_outage_is_a_503_with_retry_after_and_one_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = Flaky()
    service = BackingService("The search index", errors=(ConnectionError,), retry_after=7)
    caplog.set_level(logging.INFO)
    with TestClient(make_app(service, client)) as http:
        assert http.get("/value").json() == {"value": "value"}
        client.up = False
        for _ in range(20):
            response = http.get("/value")
            assert response.status_code == 503
            assert response.headers["retry-after"] == "7"
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["title"] == "Service Unavailable"
            assert "The search index is unavailable" in response.json()["detail"]
        assert service.down
        lines = outage_lines(caplog)
        assert len(lines) == 1
        assert "The search index is unavailable" in lines[0]
        assert "ConnectionRefusedError" in lines[0]
        assert not [r for r in caplog.records if r.exc_info]  # no traceback per request
        client.up = True  # recovery needs no restart
        assert http.get("/value").json() == {"value": "value"}
        assert not service.down
        lines = outage_lines(caplog)
        assert len(lines) == 2
        assert "The search index is back after" in lines[1]
        assert "(20 requests answered 503)" in lines[1]
        # A second outage is logged again, once.
        client.up = False
        assert http.get("/value").status_code == 503
        assert http.get("/value").status_code == 503
        assert len(outage_lines(caplog)) == 3


def test_other_errors_stay_bugs() -> None:
    service = BackingService("The search index", errors=(ConnectionError,))
    with TestClient(make_app(service, Flaky())) as http:
        assert http.get("/bug").status_code == 500
    assert not service.down


def test_a_predicate_decides_what_is_an_outage() -> None:
    service = BackingService("Mail", errors=lambda exc: "unreachable" in str(exc))
    with pytest.raises(ServiceUnavailable) as raised, service:
        raise RuntimeError("host unreachable")
    assert raised.value.headers == {"Retry-After": "5"}
    assert isinstance(raised.value.__cause__, RuntimeError)
    with pytest.raises(RuntimeError), service:
        raise RuntimeError("bad request")


def test_the_log_line_is_one_bounded_line(caplog: pytest.LogCaptureFixture) -> None:
    service = BackingService("Redis", errors=(ConnectionError,))
    with pytest.raises(ServiceUnavailable), service:
        raise ConnectionError("x" * 100_000 + "\n" + "y" * 10)
    (line,) = outage_lines(caplog)
    assert "\n" not in line
    assert len(line) < 400


def test_an_outage_ends_after_quiet_after_without_errors(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import plait._outages as outages

    now = [1000.0]
    monkeypatch.setattr(outages.time, "monotonic", lambda: now[0])
    service = BackingService("Redis", errors=(ConnectionError,), quiet_after=60)
    for _ in range(3):
        service.failed(ConnectionError("refused"))
        now[0] += 10
    assert service.down
    assert len(outage_lines(caplog)) == 1
    now[0] += 61
    assert not service.down
    service.failed(ConnectionError("refused"))
    assert len(outage_lines(caplog)) == 2


def test_redis_errors_are_outages() -> None:
    import redis.exceptions

    service = BackingService.redis()
    assert service.name == "Redis"
    assert service.is_outage(redis.exceptions.ConnectionError("refused"))
    assert service.is_outage(redis.exceptions.TimeoutError("timed out"))
    assert service.is_outage(TimeoutError())
    assert not service.is_outage(redis.exceptions.ResponseError("WRONGTYPE"))


def test_retry_after_must_be_whole_seconds() -> None:
    with pytest.raises(ValueError, match="retry_after"):
        BackingService("Redis", errors=(ConnectionError,), retry_after=-1)
    with pytest.raises(ValueError, match="retry_after"):
        ServiceUnavailable("Redis", retry_after=1.5)  # type: ignore[arg-type]
