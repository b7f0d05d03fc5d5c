"""examples/chat: its page, and two people talking in a room through plait.channels."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from plait import App
from plait.testing import TestClient, WebSocketTestSession
from test_examples import EXAMPLES, load_example


@pytest.fixture
def chat(monkeypatch: pytest.MonkeyPatch) -> App:
    monkeypatch.delenv("PLAIT_REDIS_URL", raising=False)  # one process: the memory backend
    module = load_example(EXAMPLES / "chat" / "app.py")
    app: App = module.app
    return app


def wait_joined(ws: WebSocketTestSession, name: str) -> None:
    assert ws.receive_json() == {"name": "*", "text": f"{name} joined"}


def test_the_page_talks_to_the_rooms_and_loads_nothing_from_elsewhere(chat: App) -> None:
    with TestClient(chat) as client:
        page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "new WebSocket(" in page.text
    assert "/rooms/" in page.text
    assert "textContent" in page.text  # messages are shown as text, never as HTML
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page.text)  # no CDN


def test_everyone_in_a_room_hears_what_is_said(chat: App) -> None:
    with (
        TestClient(chat) as client,
        client.websocket_connect("/rooms/lobby?name=ada") as ada,
    ):
        wait_joined(ada, "ada")
        with client.websocket_connect("/rooms/lobby?name=bob") as bob:
            wait_joined(bob, "bob")
            wait_joined(ada, "bob")
            ada.send_text("hello <b>bob</b>")
            expected = {"name": "ada", "text": "hello <b>bob</b>"}
            assert ada.receive_json() == expected
            assert bob.receive_json() == expected
            response = client.post("/rooms/lobby/messages", json={"name": "bot", "text": "hi"})
            assert response.status_code == 202
            assert bob.receive_json() == {"name": "bot", "text": "hi"}
            assert ada.receive_json() == {"name": "bot", "text": "hi"}
        assert ada.receive_json() == {"name": "*", "text": "bob left"}


def test_long_messages_and_names_are_cut(chat: App) -> None:
    with (
        TestClient(chat) as client,
        client.websocket_connect("/rooms/r?name=" + "n" * 100) as ws,
    ):
        ws.receive_json()
        ws.send_text("x" * 10_000)
        said = ws.receive_json()
        assert said == {"name": "n" * 40, "text": "x" * 500}


def test_rooms_are_separate(chat: App) -> None:
    with (
        TestClient(chat) as client,
        client.websocket_connect("/rooms/one?name=a") as one,
        client.websocket_connect("/rooms/two?name=b") as two,
    ):
        wait_joined(one, "a")
        wait_joined(two, "b")
        client.post("/rooms/two/messages", json={"name": "x", "text": "for two"})
        assert two.receive_json() == {"name": "x", "text": "for two"}
        client.post("/rooms/one/messages", json={"name": "x", "text": "for one"})
        assert one.receive_json() == {"name": "x", "text": "for one"}


def test_listed_in_the_examples_readme() -> None:
    readme = (Path(EXAMPLES) / "README.md").read_text()
    assert "[`chat/`](chat/app.py)" in readme
