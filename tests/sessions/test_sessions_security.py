"""Security review of plait.sessions: what a crafted cookie may make a store do."""

from __future__ import annotations

from typing import Any

import pytest

from plait import App, Request
from plait.sessions import MemoryStore, Sessions
from plait.testing import TestClient


class RecordingStore(MemoryStore):
    """A MemoryStore noting every key the middleware hands it."""

    def __init__(self) -> None:
        super().__init__()
        self.keys: list[str] = []

    async def load(self, key: str) -> dict[str, Any] | None:
        self.keys.append(key)
        return await super().load(key)

    async def delete(self, key: str) -> None:
        self.keys.append(key)
        await super().delete(key)


def recording_app(store: RecordingStore) -> App:
    app = App()
    Sessions(app, store=store)

    @app.get("/read")
    async def read(request: Request) -> dict[str, Any]:
        return dict(request.session)

    @app.post("/write")
    async def write(request: Request) -> str:
        request.session["n"] = 1
        return "ok"

    @app.post("/logout")
    async def logout(request: Request) -> str:
        request.session.flush()
        return "ok"

    return app


@pytest.mark.parametrize(
    "crafted",
    [
        "*",
        "plait:*",
        "../other-key",
        "a" * 3000,
        "x' OR '1'='1",
        "é" * 43,
        "A" * 42 + "=",
    ],
)
def test_a_crafted_session_id_never_reaches_a_server_side_store(crafted: str) -> None:
    # Server-side stores (Redis, a database) only ever see ids the middleware made
    # (secrets.token_urlsafe(32)): any other cookie value is no session, not a store key.
    store = RecordingStore()
    app = recording_app(store)
    cookie = {"cookie": b"plait_session=" + crafted.encode()}
    with TestClient(app) as client:
        assert client.get("/read", headers=cookie).json() == {}
        assert client.post("/logout", headers=cookie).status_code == 200
        assert client.post("/write", headers=cookie).status_code == 200
    assert store.keys == []


def test_a_well_formed_session_id_still_loads() -> None:
    store = RecordingStore()
    app = recording_app(store)
    with TestClient(app) as client:
        client.post("/write")
        key = client.cookies["plait_session"]
        assert client.get("/read").json() == {"n": 1}
    assert store.keys == [key]


def test_a_session_deleted_during_a_request_is_not_brought_back() -> None:
    # A logout (or an expiry) in another request while this one ran: writing this request's
    # copy back would resurrect the session, logged-in user and all (Django refuses the save:
    # SessionInterrupted).
    store = MemoryStore()
    app = App()
    Sessions(app, store=store)

    @app.post("/write")
    async def write(request: Request) -> str:
        request.session["user"] = "ada"
        return "ok"

    @app.post("/raced")
    async def raced(request: Request) -> str:
        session = request.scope["session"]
        await store.delete(session.key)  # the concurrent logout
        session["cart"] = ["book"]
        return "ok"

    with TestClient(app) as client:
        client.post("/write")
        assert len(store) == 1
        response = client.post("/raced")
        assert response.status_code == 200
        assert "set-cookie" not in response.headers
        assert len(store) == 0


@pytest.mark.parametrize(
    "key", ["a", "short-key", "a" * 64, "change-me-to-a-long-random-string-of-48-characters"]
)
def test_weak_keys_are_refused(key: str) -> None:
    """Issue 12 finding 9: ``Sessions(app, secret_key="a")`` was accepted."""
    from plait import SettingsError
    from plait.sessions import CookieStore, SessionMiddleware

    with pytest.raises(SettingsError, match="secret_key"):
        Sessions(App(), secret_key=key)
    with pytest.raises(SettingsError, match="secret_key"):
        CookieStore(key)
    with pytest.raises(SettingsError, match="secret_key"):
        SessionMiddleware(App(), secret_key=key)


def test_memory_store_is_capped_and_evicts_the_oldest() -> None:
    """Issue 12 finding 11: a flood of new sessions grew ``MemoryStore`` without bound."""
    import asyncio

    async def main() -> None:
        store = MemoryStore(max_sessions=3)
        for key in "abcde":
            await store.save(key, {"k": key}, 60)
        assert len(store) == 3
        assert await store.load("a") is None
        assert await store.load("b") is None
        assert await store.load("e") == {"k": "e"}
        await store.save("c", {"k": "c2"}, 60)  # saved again: now the newest
        await store.save("f", {"k": "f"}, 60)
        assert await store.load("c") == {"k": "c2"}
        assert await store.load("d") is None
        assert MemoryStore().max_sessions == 10_000
        with pytest.raises(ValueError, match="max_sessions"):
            MemoryStore(max_sessions=0)

    asyncio.run(main())


def test_a_flood_of_new_sessions_stays_bounded() -> None:
    store = MemoryStore(max_sessions=50)
    app = App()
    Sessions(app, store=store)

    @app.post("/visit")
    async def visit(request: Request) -> str:
        request.session["seen"] = True
        return "ok"

    with TestClient(app) as client:
        for _ in range(200):
            client.cookies.clear()
            assert client.post("/visit").status_code == 200
    assert len(store) == 50
