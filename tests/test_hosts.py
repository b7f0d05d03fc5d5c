"""ALLOWED_HOSTS, enforced by the app itself (issue 12, finding 5): a request for a host the
app does not serve is a 400, absolute URLs are built only from allowed hosts, and an app
with no allowed hosts in production does not start."""

from __future__ import annotations

import logging

import pytest

from plait import App, Request, SettingsError, WebSocket
from plait.testing import TestClient, WebSocketDenied


def make_app(**options: object) -> App:
    app = App(**options)  # type: ignore[arg-type]

    @app.get("/abs", name="abs")
    async def absolute(request: Request) -> str:
        return request.url_for("abs")

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close()

    return app


def test_an_unknown_host_is_a_400_and_never_an_absolute_url() -> None:
    with TestClient(make_app()) as client:
        response = client.get("/abs", headers={"host": "attacker.example"})
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/problem+json"
        assert "attacker.example" not in response.text
        # The defaults: localhost, 127.0.0.1 and [::1], any port.
        for host in ("localhost", "localhost:8000", "127.0.0.1:5000", "[::1]:80"):
            assert client.get("/abs", headers={"host": host}).text == f"http://{host}/abs"
        # The test client's own host (base_url) is trusted, as Django's test client's is.
        assert client.get("/abs").text == "http://testserver/abs"


@pytest.mark.parametrize(
    "host",
    ["attacker.example", "localhost.attacker.example", "localhost@attacker", "a b", "", "x" * 300],
)
def test_malformed_and_unknown_hosts_are_refused(host: str) -> None:
    with TestClient(make_app()) as client:
        assert client.get("/abs", headers={"host": host}).status_code == 400


def test_patterns_from_the_app() -> None:
    app = make_app(allowed_hosts=["example.com", ".example.org", "*.example.net"])
    with TestClient(app) as client:
        ok = ["example.com", "EXAMPLE.com:443", "example.org", "a.example.org", "b.example.net"]
        for host in ok:
            assert client.get("/abs", headers={"host": host}).status_code == 200, host
        for host in ["localhost", "example.net", "www.example.com", "badexample.org"]:
            assert client.get("/abs", headers={"host": host}).status_code == 400, host


def test_the_setting_is_read_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAIT_ALLOWED_HOSTS", "api.example.com")
    with TestClient(make_app()) as client:
        assert client.get("/abs", headers={"host": "api.example.com"}).status_code == 200
        assert client.get("/abs", headers={"host": "localhost"}).status_code == 400


def test_any_host_is_a_deliberate_star() -> None:
    with TestClient(make_app(allowed_hosts=["*"])) as client:
        assert client.get("/abs", headers={"host": "anything.example"}).status_code == 200


def test_no_allowed_hosts_in_production_fails_at_start_up() -> None:
    with pytest.raises(SettingsError, match="ALLOWED_HOSTS"):
        make_app(allowed_hosts=[]).build()
    # In DEBUG, no allowed hosts means the local ones (as Django).
    with TestClient(make_app(allowed_hosts=[], debug=True)) as client:
        assert client.get("/abs", headers={"host": "localhost:8000"}).status_code == 200
        assert client.get("/abs", headers={"host": "attacker.example"}).status_code == 400


def test_a_websocket_for_an_unknown_host_is_closed() -> None:
    with TestClient(make_app()) as client:
        with client.websocket_connect("/ws"):
            pass
        with (
            pytest.raises(WebSocketDenied) as denied,
            client.websocket_connect("/ws", headers={"host": "attacker.example"}),
        ):
            pass
        assert denied.value.code == 1008


def test_middleware_never_sees_an_unknown_host() -> None:
    seen: list[str] = []

    class Spy:
        def __init__(self, app: object) -> None:
            self.app = app

        async def __call__(self, scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
            seen.append(scope["path"])
            await self.app(scope, receive, send)  # type: ignore[operator]

    app = make_app()
    app.add_middleware(Spy)
    with TestClient(app) as client:
        assert client.get("/abs", headers={"host": "attacker.example"}).status_code == 400
        assert client.get("/abs").status_code == 200
    assert seen == ["/abs"]


def test_refused_hosts_are_logged_once_each(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    with TestClient(make_app()) as client:
        for _ in range(5):
            client.get("/abs", headers={"host": "attacker.example"})
        client.get("/abs", headers={"host": "x" * 5000})
    lines = [r.getMessage() for r in caplog.records if "ALLOWED_HOSTS" in r.getMessage()]
    assert len(lines) == 2
    assert "PLAIT_ALLOWED_HOSTS" in lines[0]
    assert all(len(line) < 400 for line in lines)
