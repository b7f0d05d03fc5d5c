"""The signed-in user is loaded in the request's database session: a handler with ``Session``
continues it (one session and one pooled connection per request), a route without one gives
it back before its response starts (issue 19), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import auth_services
import pytest
import sqlalchemy as sa
from auth_services import new_user, seed

from _services import TCPProxy
from plait import App, StreamingResponse, WebSocket
from plait.auth import CurrentUser, LoginRequired, User
from plait.db import Database, Session
from plait.testing import TestClient

pytestmark = pytest.mark.usefixtures("fast_hashing")


@dataclass
class Seen:
    """What one request did with the database: the sessions that began a transaction, and
    the connections checked out of the pool."""

    sessions: set[int] = field(default_factory=set)
    checkouts: int = 0


@contextmanager
def watch() -> Iterator[Seen]:
    seen = Seen()

    def began(session: Any, transaction: Any, connection: Any) -> None:
        seen.sessions.add(id(session))

    def checked_out(*args: Any) -> None:
        seen.checkouts += 1

    sa.event.listen(sa.orm.Session, "after_begin", began)
    sa.event.listen(sa.pool.Pool, "checkout", checked_out)
    try:
        yield seen
    finally:
        sa.event.remove(sa.orm.Session, "after_begin", began)
        sa.event.remove(sa.pool.Pool, "checkout", checked_out)


def make_app(db_url: str, tmp_path: Path) -> tuple[App, Database]:
    """auth_services' app (``POST /login`` by cookie), with tokens and routes of this test."""
    seed(db_url, new_user("ada"))
    app, db = auth_services.make_app(db_url, tmp_path)
    tokens = app.state.auth.add_tokens()

    def checked_out() -> int:
        return db.engine.sync_engine.pool.checkedout()  # type: ignore[attr-defined,no-any-return]

    @app.post("/credentials")
    async def credentials(user: LoginRequired, session: Session) -> dict[str, str]:
        opaque, _ = await tokens.create_token(session, user)
        key, _ = await tokens.create_api_key(session, user)
        return {"jwt": tokens.access_token(user), "token": opaque, "api_key": key}

    @app.get("/whoami")
    async def whoami(user: LoginRequired, session: Session) -> dict[str, Any]:
        again = await session.get(User, user.id)  # the same row: from the identity map
        await session.scalar(sa.select(sa.func.count()).select_from(User))
        return {"user": user.username, "same": again is user, "checked_out": checked_out()}

    @app.get("/pool")
    async def pool(user: CurrentUser) -> dict[str, Any]:
        return {"user": user and user.username, "checked_out": checked_out()}

    @app.get("/stream")
    async def stream(user: LoginRequired) -> StreamingResponse:
        async def body() -> Any:
            yield f"{user.username} {checked_out()}"

        return StreamingResponse(body(), media_type="text/plain")

    @app.websocket("/ws")
    async def socket(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_json({"user": websocket.user.username, "checked_out": checked_out()})
        await websocket.close()

    @app.post("/delete-me")
    async def delete_me(user: LoginRequired, session: Session) -> None:
        await session.delete(user)

    return app, db


def logins(client: TestClient, path: str) -> Iterator[tuple[str, dict[str, str]]]:
    """Each way ada logs in, as request headers (the cookie goes with the client), each
    used once on ``path`` first (an opaque token's or API key's first use is recorded)."""
    client.post("/login", json={"username": "ada", "password": "correct horse"})
    made = client.post("/credentials").json()
    ways = {
        "session": {},
        "jwt": {"Authorization": f"Bearer {made['jwt']}"},
        "token": {"Authorization": f"Bearer {made['token']}"},
        "api_key": {"X-API-Key": made["api_key"]},
    }
    for method, headers in ways.items():
        assert client.get(path, headers=headers).status_code == 200, method
        yield method, headers


def test_a_logged_in_request_reads_and_writes_in_one_session(db_url: str, tmp_path: Path) -> None:
    app, _ = make_app(db_url, tmp_path)
    with TestClient(app) as client:
        for method, headers in logins(client, "/whoami"):
            with watch() as seen:
                answer = client.get("/whoami", headers=headers).json()
            assert answer == {"user": "ada", "same": True, "checked_out": 1}, method
            assert len(seen.sessions) == 1, method
            # Plain reads open no transaction (lazy BEGIN): the connection that loaded the
            # user serves the handler.
            assert seen.checkouts == 1, method


def test_anonymous_requests_do_no_database_work(db_url: str, tmp_path: Path) -> None:
    app, _ = make_app(db_url, tmp_path)
    with TestClient(app) as client, watch() as seen:
        assert client.get("/pool").json() == {"user": None, "checked_out": 0}
        assert client.get("/whoami").status_code == 401
    assert seen == Seen()


def test_a_route_without_session_gives_the_connection_back(db_url: str, tmp_path: Path) -> None:
    app, _ = make_app(db_url, tmp_path)
    with TestClient(app) as client:
        for method, headers in logins(client, "/pool"):
            # While the handler runs, the connection waits for a Session; before the
            # response starts it is back in the pool, streaming or not.
            me = client.get("/pool", headers=headers).json()
            assert me == {"user": "ada", "checked_out": 1}, method
            assert client.get("/stream", headers=headers).text == "ada 0", method
            with client.websocket_connect("/ws", headers=headers) as websocket:
                assert websocket.receive_json() == {"user": "ada", "checked_out": 0}, method


def test_a_deleted_user_is_anonymous(db_url: str, tmp_path: Path) -> None:
    app, _ = make_app(db_url, tmp_path)
    with TestClient(app) as client:
        jwt = dict(logins(client, "/pool"))["jwt"]
        assert client.post("/delete-me").status_code == 204
        assert client.get("/pool").json() == {"user": None, "checked_out": 0}
        refused = client.get("/pool", headers=jwt)
        assert refused.status_code == 401
        assert "inactive or gone" in refused.headers["www-authenticate"]


@pytest.mark.postgres
def test_an_outage_while_loading_the_user_is_a_503(postgres_server: str, tmp_path: Path) -> None:
    parts = urlsplit(postgres_server)
    with TCPProxy(parts.hostname or "127.0.0.1", parts.port or 5432) as proxy:
        url = parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}").geturl()
        app, _ = make_app(url, tmp_path)
        with TestClient(app) as client:
            ways = dict(logins(client, "/pool"))
            proxy.stop()
            for method, headers in ways.items():
                response = client.get("/pool", headers=headers)
                assert response.status_code == 503, method
                assert response.headers["retry-after"], method
            proxy.start()
            for method, headers in ways.items():
                assert client.get("/whoami", headers=headers).json()["user"] == "ada", method
