"""Every store through a real app: set, read back, modify, cycle, flush, expire, tamper."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sessions_services import SECRET, StoreFactory, session_of

from plait import App, Request
from plait.sessions import CookieStore, Sessions, SessionStore
from plait.testing import TestClient


def make_app(store: SessionStore, **options: Any) -> App:
    app = App()
    Sessions(app, store=store, **options)

    @app.get("/session")
    async def read(request: Request) -> dict[str, Any]:
        return dict(request.session)

    @app.post("/session/{key}/{value}")
    async def write(request: Request, key: str, value: str) -> dict[str, Any]:
        request.session[key] = value
        return dict(request.session)

    @app.delete("/session/{key}")
    async def remove(request: Request, key: str) -> dict[str, Any]:
        del request.session[key]
        return dict(request.session)

    @app.post("/cycle")
    async def cycle(request: Request) -> dict[str, Any]:
        session_of(request).cycle_key()
        return dict(request.session)

    @app.post("/flush")
    async def flush(request: Request) -> dict[str, Any]:
        session_of(request).flush()
        return dict(request.session)

    @app.get("/untouched")
    async def untouched() -> str:
        return "ok"

    return app


def session_cookie(response: Any) -> str:
    header = response.headers["set-cookie"]
    name, _, rest = header.partition("=")
    assert name == "plait_session"
    return str(rest.split(";")[0])


def test_set_and_read_back_across_requests(make_store: StoreFactory) -> None:
    with TestClient(make_app(make_store())) as client:
        response = client.post("/session/user/ada")
        assert response.json() == {"user": "ada"}
        assert "set-cookie" in response.headers
        again = client.get("/session")
        assert again.json() == {"user": "ada"}
        # Read, not changed: no cookie sent back, but the response varies by Cookie.
        assert "set-cookie" not in again.headers
        assert again.headers["vary"] == "Cookie"


def test_modify_keeps_the_other_values(make_store: StoreFactory) -> None:
    with TestClient(make_app(make_store())) as client:
        client.post("/session/user/ada")
        client.post("/session/theme/dark")
        assert client.get("/session").json() == {"user": "ada", "theme": "dark"}
        client.post("/session/theme/light")
        client.delete("/session/user")
        assert client.get("/session").json() == {"theme": "light"}


def test_untouched_session_sends_no_cookie(make_store: StoreFactory) -> None:
    with TestClient(make_app(make_store())) as client:
        response = client.get("/untouched")
        assert "set-cookie" not in response.headers
        assert "vary" not in response.headers
        client.post("/session/user/ada")
        response = client.get("/untouched")
        assert "set-cookie" not in response.headers
        assert "vary" not in response.headers


def test_empty_session_read_sends_no_cookie(make_store: StoreFactory) -> None:
    with TestClient(make_app(make_store())) as client:
        response = client.get("/session")
        assert response.json() == {}
        assert "set-cookie" not in response.headers


def test_cycle_key_keeps_the_data(make_store: StoreFactory) -> None:
    store = make_store()
    with TestClient(make_app(store)) as client:
        before = session_cookie(client.post("/session/user/ada"))
        response = client.post("/cycle")
        after = session_cookie(response)
        assert response.json() == {"user": "ada"}
        assert client.get("/session").json() == {"user": "ada"}
        if store.server_side:
            # A new id, and the old one is gone from the store: a fixed id is worthless.
            assert after != before
            client.cookies.clear()
            stale = client.get("/session", headers={"Cookie": f"plait_session={before}"})
            assert stale.json() == {}


def test_flush_expires_the_cookie_and_drops_the_data(make_store: StoreFactory) -> None:
    store = make_store()
    with TestClient(make_app(store)) as client:
        before = session_cookie(client.post("/session/user/ada"))
        response = client.post("/flush")
        assert response.json() == {}
        header = response.headers["set-cookie"]
        assert header.startswith("plait_session=;")
        assert "Max-Age=0" in header
        assert "01 Jan 1970" in header
        assert "plait_session" not in client.cookies
        assert client.get("/session").json() == {}
        if store.server_side:
            replay = client.get("/session", headers={"Cookie": f"plait_session={before}"})
            assert replay.json() == {}


def test_flush_then_store_again_starts_a_new_session(make_store: StoreFactory) -> None:
    app = make_app(make_store())

    @app.post("/relogin")
    async def relogin(request: Request) -> dict[str, Any]:
        session_of(request).flush()
        request.session["user"] = "grace"
        return dict(request.session)

    with TestClient(app) as client:
        client.post("/session/user/ada")
        client.post("/session/theme/dark")
        assert client.post("/relogin").json() == {"user": "grace"}
        assert client.get("/session").json() == {"user": "grace"}


def test_deleting_every_key_expires_the_cookie(make_store: StoreFactory) -> None:
    with TestClient(make_app(make_store())) as client:
        client.post("/session/user/ada")
        response = client.delete("/session/user")
        assert "Max-Age=0" in response.headers["set-cookie"]
        assert client.get("/session").json() == {}


def test_expired_sessions_read_as_empty(make_store: StoreFactory) -> None:
    with TestClient(make_app(make_store(), max_age=1)) as client:
        cookie = session_cookie(client.post("/session/user/ada"))
        assert client.get("/session").json() == {"user": "ada"}
        time.sleep(2.1)
        # The client would drop the cookie itself; the server must not trust it either.
        client.cookies.clear()
        replay = client.get("/session", headers={"Cookie": f"plait_session={cookie}"})
        assert replay.status_code == 200
        assert replay.json() == {}


@pytest.mark.parametrize(
    "forge",
    [
        lambda value: value[:-2] + ("AA" if not value.endswith("AA") else "BB"),
        lambda value: "x" + value,
        lambda value: "garbage",
        lambda value: "",
        lambda value: "a.b.c",
        lambda value: "%%%.!!!",
    ],
)
def test_tampered_cookies_read_as_empty(make_store: StoreFactory, forge: Any) -> None:
    with TestClient(make_app(make_store())) as client:
        cookie = session_cookie(client.post("/session/user/ada"))
        client.cookies.clear()
        response = client.get("/session", headers={"Cookie": f"plait_session={forge(cookie)}"})
        assert response.status_code == 200
        assert response.json() == {}


def test_non_ascii_cookies_read_as_empty(make_store: StoreFactory) -> None:
    with TestClient(make_app(make_store())) as client:
        cookie = "plait_session=caf\xe9.\xe9t\xe9".encode("latin-1")
        response = client.get("/session", headers={b"Cookie": cookie})
        assert response.status_code == 200
        assert response.json() == {}


def test_cookie_signed_with_another_key_is_refused() -> None:
    with TestClient(make_app(CookieStore("another-secret-key-of-enough-length-here"))) as other:
        cookie = session_cookie(other.post("/session/user/mallory"))
    with TestClient(make_app(CookieStore(SECRET))) as client:
        response = client.get("/session", headers={"Cookie": f"plait_session={cookie}"})
        assert response.json() == {}


def test_cookie_data_cannot_be_edited() -> None:
    import base64
    import json

    with TestClient(make_app(CookieStore(SECRET))) as client:
        cookie = session_cookie(client.post("/session/user/ada"))
        payload, signature = cookie.split(".")
        expires, data = json.loads(base64.urlsafe_b64decode(payload + "=="))
        assert data == {"user": "ada"}
        data["user"] = "admin"
        forged = base64.urlsafe_b64encode(json.dumps([expires, data]).encode()).decode()
        client.cookies.clear()
        response = client.get(
            "/session", headers={"Cookie": f"plait_session={forged.rstrip('=')}.{signature}"}
        )
        assert response.json() == {}


def test_default_cookie_attributes(make_store: StoreFactory) -> None:
    with TestClient(make_app(make_store())) as client:
        header = client.post("/session/user/ada").headers["set-cookie"]
    attributes = [part.strip() for part in header.split(";")][1:]
    assert "HttpOnly" in attributes
    assert "SameSite=Lax" in attributes
    assert "Path=/" in attributes
    assert f"Max-Age={14 * 24 * 3600}" in attributes
    assert any(part.startswith("Expires=") for part in attributes)
    assert "Secure" not in attributes  # plain http


def test_secure_over_https_by_default() -> None:
    with TestClient(make_app(CookieStore(SECRET)), base_url="https://testserver") as client:
        header = client.post("/session/user/ada").headers["set-cookie"]
        assert "; Secure" in header
        assert client.get("/session").json() == {"user": "ada"}


def test_cookie_options() -> None:
    app = make_app(
        CookieStore(SECRET),
        cookie_name="sid",
        max_age=3600,
        path="/app",
        domain="example.com",
        secure=True,
        httponly=False,
        samesite="strict",
    )
    with TestClient(app) as client:
        header = client.post("/session/user/ada").headers["set-cookie"]
    assert header.startswith("sid=")
    attributes = [part.strip() for part in header.split(";")][1:]
    assert "Max-Age=3600" in attributes
    assert "Path=/app" in attributes
    assert "Domain=example.com" in attributes
    assert "Secure" in attributes
    assert "SameSite=Strict" in attributes
    assert "HttpOnly" not in attributes


def test_samesite_none_is_always_secure() -> None:
    with TestClient(make_app(CookieStore(SECRET), samesite="none")) as client:
        header = client.post("/session/user/ada").headers["set-cookie"]
    assert "SameSite=None" in header
    assert "; Secure" in header


def test_other_cookies_are_left_alone() -> None:
    with TestClient(make_app(CookieStore(SECRET))) as client:
        cookie = session_cookie(client.post("/session/user/ada"))
        client.cookies.clear()
        response = client.get(
            "/session",
            headers={"Cookie": f"theme=dark; xplait_session=1; plait_session={cookie}; b=2"},
        )
        assert response.json() == {"user": "ada"}
