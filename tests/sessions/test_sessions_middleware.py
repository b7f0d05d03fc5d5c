"""The middleware's laziness, flash messages, WebSockets, settings, and the stores' edges."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from sessions_services import REDIS_URL, SECRET, session_of

from plait import App, Request, SettingsError, WebSocket
from plait.sessions import (
    MAX_COOKIE_SIZE,
    CookieStore,
    MemoryStore,
    RedisStore,
    SessionData,
    SessionMiddleware,
    Sessions,
    SessionStore,
    flash,
    get_flashed_messages,
)
from plait.testing import TestClient


class CountingStore(MemoryStore):
    """A MemoryStore that counts what the middleware asks of it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    async def load(self, key: str) -> dict[str, Any] | None:
        self.calls.append("load")
        return await super().load(key)

    async def save(self, key: str, data: dict[str, Any], max_age: int) -> str:
        self.calls.append("save")
        return await super().save(key, data, max_age)

    async def delete(self, key: str) -> None:
        self.calls.append("delete")
        await super().delete(key)


def counting_app(store: SessionStore) -> App:
    app = App()
    Sessions(app, store=store)

    @app.get("/")
    async def index() -> str:
        return "ok"

    @app.get("/read")
    async def read(request: Request) -> dict[str, Any]:
        return dict(request.session)

    @app.post("/login")
    async def login(request: Request) -> str:
        session_of(request).cycle_key()
        request.session["user"] = "ada"
        return "ok"

    @app.post("/logout")
    async def logout(request: Request) -> str:
        session_of(request).flush()
        return "ok"

    return app


def test_no_store_access_without_a_cookie() -> None:
    store = CountingStore()
    with TestClient(counting_app(store)) as client:
        client.get("/")
        client.get("/read")
        assert store.calls == []
        client.post("/login")
        assert store.calls == ["save"]  # a new session: nothing to load or give up
        store.calls.clear()
        client.get("/")
        assert store.calls == ["load"]  # the cookie is there: loaded, not written back
        store.calls.clear()
        client.post("/login")
        assert store.calls == ["load", "delete", "save"]  # the old id is deleted
        store.calls.clear()
        client.post("/logout")
        assert store.calls == ["load", "delete"]
        assert len(store) == 0


def test_unknown_session_id_is_not_adopted() -> None:
    # Session fixation: an id the store does not know is never used for a new session.
    store = MemoryStore()
    with TestClient(counting_app(store)) as client:
        planted = {"Cookie": "plait_session=chosen-by-the-attacker"}
        response = client.post("/login", headers=planted)
        assert "chosen-by-the-attacker" not in response.headers["set-cookie"]
        assert client.get("/read").json() == {"user": "ada"}


def test_flash_messages_are_shown_once() -> None:
    app = App()
    Sessions(app, secret_key=SECRET)

    @app.post("/save")
    async def save(request: Request) -> str:
        flash(request, "Saved.", "success")
        flash(request, "Check your email.")
        return "ok"

    @app.get("/messages")
    async def messages(request: Request) -> list[list[str]]:
        return [list(pair) for pair in get_flashed_messages(request)]

    with TestClient(app) as client:
        assert client.get("/messages").json() == []
        client.post("/save")
        assert client.get("/messages").json() == [
            ["success", "Saved."],
            ["info", "Check your email."],
        ]
        assert client.get("/messages").json() == []


def test_websockets_see_the_session() -> None:
    app = App()
    Sessions(app, secret_key=SECRET)

    @app.post("/login")
    async def login(request: Request) -> str:
        request.session["user"] = "ada"
        return "ok"

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_json({"user": websocket.session.get("user")})
        await websocket.close()

    with TestClient(app) as client:
        with client.websocket_connect("/ws") as connection:
            assert connection.receive_json() == {"user": None}
        client.post("/login")
        # The test client's WebSockets do not send its cookie jar: pass the cookie along.
        cookie = {"Cookie": f"plait_session={client.cookies['plait_session']}"}
        with client.websocket_connect("/ws", headers=cookie) as connection:
            assert connection.receive_json() == {"user": "ada"}


def test_cookie_store_refuses_sessions_too_big_for_a_cookie(caplog: Any) -> None:
    store = CookieStore(SECRET)
    with pytest.raises(ValueError, match="too large for a cookie"):
        asyncio.run(store.save("", {"blob": "x" * MAX_COOKIE_SIZE}, 60))

    app = App()
    Sessions(app, store=store)

    @app.post("/big")
    async def big(request: Request) -> str:
        request.session["blob"] = "x" * 5000
        return "ok"

    with caplog.at_level(logging.CRITICAL), TestClient(app) as client:
        response = client.post("/big")
        assert response.status_code == 500
        assert "set-cookie" not in response.headers


def test_secret_key_comes_from_the_settings(monkeypatch: Any, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PLAIT_DEBUG", raising=False)
    monkeypatch.delenv("PLAIT_SECRET_KEY", raising=False)
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        Sessions(App())
    monkeypatch.setenv("PLAIT_SECRET_KEY", SECRET)
    sessions = Sessions(App())
    signed = asyncio.run(sessions.store.save("", {"a": 1}, 60))
    assert asyncio.run(CookieStore(SECRET).load(signed)) == {"a": 1}
    monkeypatch.delenv("PLAIT_SECRET_KEY")
    monkeypatch.setenv("PLAIT_DEBUG", "1")
    assert isinstance(Sessions(App()).store, CookieStore)  # a random key in DEBUG


def test_session_middleware_added_directly() -> None:
    app = App()
    app.add_middleware(SessionMiddleware, secret_key=SECRET, cookie_name="sid")

    @app.post("/")
    async def write(request: Request) -> dict[str, Any]:
        request.session["n"] = request.session.get("n", 0) + 1
        return dict(request.session)

    with TestClient(app) as client:
        assert client.post("/").json() == {"n": 1}
        assert client.post("/").json() == {"n": 2}
        assert "sid" in client.cookies


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"samesite": "loose"}, "samesite"),
        ({"cookie_name": "a b"}, "cookie name"),
        ({"max_age": 0}, "max_age"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], message: str) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None: ...

    with pytest.raises(ValueError, match=message):
        SessionMiddleware(app, secret_key=SECRET, **options)


def test_cookie_store_needs_a_key() -> None:
    with pytest.raises(ValueError, match="secret_key"):
        CookieStore("")


def test_session_data_tracks_changes() -> None:
    session = SessionData({"a": 1}, "key")
    assert (session.accessed, session.modified) == (False, False)
    assert session.get("a") == 1
    assert session.pop("missing", None) is None
    assert (session.accessed, session.modified) == (True, False)
    with pytest.raises(KeyError):
        session.pop("missing")
    session.clear()
    assert (session.accessed, session.modified) == (True, True)
    session = SessionData({"a": 1}, "key")
    session.cycle_key()
    assert session.modified
    assert session.key is None
    assert session.old_keys == ["key"]
    assert dict(session) == {"a": 1}
    session.flush()
    assert dict(session) == {}
    assert session.old_keys == ["key"]
    session.setdefault("b", 2)
    assert session.to_dict() == {"b": 2}


def test_memory_store_expiry_and_pruning(monkeypatch: Any) -> None:
    import time

    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    store = MemoryStore()

    async def scenario() -> None:
        await store.save("old", {"a": 1}, 10)
        assert await store.load("old") == {"a": 1}
        now[0] += 11
        for index in range(999):
            await store.save(f"k{index}", {}, 100)
        assert len(store) == 999  # the 1000th save pruned "old"
        assert await store.load("old") is None
        loaded = await store.load("k1")
        assert loaded == {}
        assert loaded is not await store.load("k1")  # copies: changes need a save

    asyncio.run(scenario())


@pytest.mark.redis
def test_redis_store_with_your_own_client(redis_prefix: str) -> None:
    import redis.asyncio

    async def scenario() -> None:
        client = redis.asyncio.from_url(REDIS_URL)
        store = RedisStore(client, prefix=redis_prefix)
        await store.save("k", {"a": [1, 2]}, 30)
        assert await store.load("k") == {"a": [1, 2]}
        assert 0 < await client.ttl(redis_prefix + "k") <= 30
        await client.set(redis_prefix + "bad", b"not json")
        assert await store.load("bad") is None
        await store.delete("k")
        assert await store.load("k") is None
        await store.close()
        assert await client.ping()  # the caller's client stays open
        await client.aclose()

    asyncio.run(scenario())


def test_redis_store_url_from_the_settings(monkeypatch: Any, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PLAIT_REDIS_URL", raising=False)
    with pytest.raises(ValueError, match="REDIS_URL"):
        RedisStore()
    monkeypatch.setenv("PLAIT_REDIS_URL", "redis://example.invalid:6390/3")
    store = RedisStore()
    assert store.client.connection_pool.connection_kwargs["host"] == "example.invalid"
    assert store.client.connection_pool.connection_kwargs["db"] == 3
    asyncio.run(store.close())


def test_database_store_clears_expired_sessions(tmp_path: Path) -> None:
    from plait.db import Database
    from plait.sessions import DatabaseStore

    async def scenario() -> None:
        db = Database(url=f"sqlite+aiosqlite:///{tmp_path / 'sessions.sqlite3'}")
        await db.create_all()
        store = DatabaseStore(db)
        await store.save("old", {"a": 1}, 1)
        await store.save("new", {"b": 2}, 3600)
        await store.save("new", {"b": 3}, 3600)  # saved again: updated, not duplicated
        await asyncio.sleep(1.1)
        assert await store.load("old") is None
        assert await store.clear_expired() == 1
        assert await store.clear_expired() == 0
        assert await store.load("new") == {"b": 3}
        await store.close()  # a database of no app: the store disconnects it

    asyncio.run(scenario())


def test_sessions_do_not_load_the_data_layer() -> None:
    import subprocess
    import sys

    code = (
        "import sys, plait.sessions\n"
        "assert 'sqlalchemy' not in sys.modules, 'plait.sessions imported SQLAlchemy'\n"
        "plait.sessions.DatabaseStore\n"
        "assert 'sqlalchemy' in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_a_failed_request_does_not_save_the_session(caplog: Any) -> None:
    app = App()
    Sessions(app, secret_key=SECRET)

    @app.post("/fail")
    async def fail(request: Request) -> str:
        request.session["half"] = "done"
        raise RuntimeError("boom")

    with caplog.at_level(logging.CRITICAL), TestClient(app) as client:
        response = client.post("/fail")
        assert response.status_code == 500
        assert "set-cookie" not in response.headers


def test_public_surface() -> None:
    import plait.sessions

    assert set(plait.sessions.__all__) == {
        "DEFAULT_MAX_AGE",
        "MAX_COOKIE_SIZE",
        "CookieStore",
        "DatabaseStore",
        "MemoryStore",
        "RedisStore",
        "SessionData",
        "SessionMiddleware",
        "SessionOptions",
        "SessionStore",
        "Sessions",
        "flash",
        "get_flashed_messages",
    }
    for name in plait.sessions.__all__:
        assert getattr(plait.sessions, name) is not None
    for module in ("_data", "_database", "_flash", "_middleware", "_redis", "_stores"):
        imported = __import__(f"plait.sessions.{module}", fromlist=["__all__"])
        assert all(hasattr(imported, name) for name in imported.__all__), module


def test_redis_url_in_the_settings_moves_sessions_to_redis(
    monkeypatch: Any, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PLAIT_REDIS_URL", "redis://example.invalid:6390/2")
    monkeypatch.delenv("PLAIT_SECRET_KEY", raising=False)
    sessions = Sessions(App())  # no secret key needed: the cookie only carries an id
    assert isinstance(sessions.store, RedisStore)
    assert sessions.store.client.connection_pool.connection_kwargs["db"] == 2
    explicit = Sessions(App(), store=MemoryStore())
    assert isinstance(explicit.store, MemoryStore)
    asyncio.run(sessions.store.close())
