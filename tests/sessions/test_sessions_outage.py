"""A Redis outage under sessions: 503 with Retry-After, one log line, recovery by itself.

Redis is reached through a TCP proxy that the test switches off and on (the shared server is
never touched): switched off, connections are refused and open ones are cut.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from sessions_services import REDIS_URL

from _services import TCPProxy
from plait import App, Request, WebSocket
from plait.sessions import RedisStore, Sessions
from plait.testing import TestClient

pytestmark = pytest.mark.redis


@pytest.fixture
def proxy(redis_prefix: str) -> Iterator[TCPProxy]:
    target = urlsplit(REDIS_URL)
    with TCPProxy(target.hostname or "127.0.0.1", target.port or 6379) as running:
        yield running


def make_app(proxy: TCPProxy, prefix: str) -> App:
    database = urlsplit(REDIS_URL).path or "/0"
    app = App()
    Sessions(app, store=RedisStore(f"redis://127.0.0.1:{proxy.port}{database}", prefix=prefix))

    @app.get("/session")
    async def read(request: Request) -> dict[str, Any]:
        return dict(request.session)

    @app.post("/session/{value}")
    async def write(request: Request, value: str) -> dict[str, Any]:
        request.session["value"] = value
        return dict(request.session)

    @app.get("/plain")
    async def plain() -> str:
        return "no session here"

    return app


def outage_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "plait.outage"]


def test_redis_outage_is_503_with_retry_after_then_recovers(
    proxy: TCPProxy, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with TestClient(make_app(proxy, redis_prefix)) as client:
        assert client.post("/session/ada").json() == {"value": "ada"}
        assert client.get("/session").json() == {"value": "ada"}
        proxy.stop()
        with TestClient(client.app) as first_visit:
            # A first visit (no cookie) that writes the session needs Redis too.
            refused = first_visit.post("/session/bob")
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "5"
        assert refused.headers["content-type"] == "application/problem+json"
        assert "set-cookie" not in refused.headers
        for _ in range(10):
            response = client.get("/session")  # a returning visitor: the load fails
            assert response.status_code == 503
            assert response.headers["retry-after"] == "5"
        # Pages that don't touch the session don't need Redis.
        assert client.get("/plain").status_code == 200
        lines = outage_lines(caplog)
        assert len(lines) == 1, lines
        assert "Redis" in lines[0]
        assert "unavailable" in lines[0]
        assert not [r for r in caplog.records if r.exc_info]  # no traceback per request
        proxy.start()  # Redis is back: no restart of the app
        assert client.get("/session").json() == {"value": "ada"}
        assert client.post("/session/eve").json() == {"value": "eve"}
        lines = outage_lines(caplog)
        assert len(lines) == 2
        assert "back after" in lines[1]


def test_redis_outage_closes_a_websocket_with_try_again_later(
    proxy: TCPProxy, redis_prefix: str
) -> None:
    app = make_app(proxy, redis_prefix)

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        session = dict(websocket.session)  # who is it? (before accepting)
        await websocket.accept()
        await websocket.send_json(session)
        await websocket.close()

    with TestClient(app) as client:
        client.post("/session/ada")
        cookie = {"cookie": f"plait_session={client.cookies['plait_session']}"}
        with client.websocket_connect("/ws", headers=cookie) as websocket:
            assert websocket.receive_json() == {"value": "ada"}
        proxy.stop()
        from plait.testing import WebSocketDenied

        with (
            pytest.raises(WebSocketDenied) as denied,
            client.websocket_connect("/ws", headers=cookie),
        ):
            pass
        assert denied.value.code == 1013  # "try again later"


@pytest.mark.postgres
def test_database_store_outage_is_503(postgres_database: str) -> None:
    from plait.db import Database
    from plait.sessions import DatabaseStore

    parts = urlsplit(postgres_database)
    with TCPProxy(parts.hostname or "127.0.0.1", parts.port or 5432) as proxy:
        url = parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}").geturl()
        app = App()
        Sessions(app, store=DatabaseStore(Database(app, url)))

        @app.post("/session/{value}")
        async def write(request: Request, value: str) -> dict[str, Any]:
            request.session["value"] = value
            return dict(request.session)

        with TestClient(app) as client:
            assert client.post("/session/ada").json() == {"value": "ada"}
            proxy.stop()
            response = client.post("/session/bob")
            assert response.status_code == 503
            assert response.headers["retry-after"] == "5"
            proxy.start()
            assert client.post("/session/eve").json() == {"value": "eve"}
