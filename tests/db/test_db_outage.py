"""A PostgreSQL outage: 503 with Retry-After, one log line per outage, recovery by itself.

PostgreSQL is reached through a TCP proxy that the test switches off (connections refused,
open ones cut) and on again; the shared server is never touched.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from _services import TCPProxy
from plait import App
from plait.db import Database, Session
from plait.testing import TestClient

pytestmark = pytest.mark.postgres


@pytest.fixture
def proxied_url(postgres_server: str) -> Iterator[tuple[str, TCPProxy]]:
    parts = urlsplit(postgres_server)
    with TCPProxy(parts.hostname or "127.0.0.1", parts.port or 5432) as proxy:
        netloc = f"{parts.username}@127.0.0.1:{proxy.port}"
        yield parts._replace(netloc=netloc).geturl(), proxy


def outage_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "plait.outage"]


def test_database_outage_logs_once_and_recovers(
    proxied_url: tuple[str, TCPProxy], caplog: pytest.LogCaptureFixture
) -> None:
    url, proxy = proxied_url
    app = App()
    Database(app, url)

    @app.get("/")
    async def index(session: Session) -> int:
        return int(await session.scalar(select(1)) or 0)

    caplog.set_level(logging.INFO)
    with TestClient(app) as client:
        assert client.get("/").json() == 1
        proxy.stop()
        for _ in range(10):
            response = client.get("/")
            assert response.status_code == 503
            assert response.headers["retry-after"] == "5"
            assert "unavailable" in response.json()["detail"]
        lines = outage_lines(caplog)
        assert len(lines) == 1, lines
        assert "The database is unavailable" in lines[0]
        assert not [r for r in caplog.records if r.exc_info]
        proxy.start()
        assert client.get("/").json() == 1  # no restart
        lines = outage_lines(caplog)
        assert len(lines) == 2
        assert "The database is back after" in lines[1]
