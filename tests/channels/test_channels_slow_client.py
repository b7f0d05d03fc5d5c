"""A client that stops reading never stalls the others: on real servers, over real sockets.

One WebSocket client of a chat room stops reading (its socket's receive buffer is tiny and
never drained); the others keep reading while one of them publishes 16 KiB messages. Every
reading client gets every message, in order; the stuck one is dropped (``Channels.dropped``)
instead of holding up the room.
"""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import textwrap
import time
from collections.abc import Iterator

import httpx
import pytest
from websockets.sync.client import connect

from _servers import Server, granian_command, running, uvicorn_command

APP = """
from plait import App, WebSocket
from plait.channels import Channels, MemoryBackend

app = App()
channels = Channels(app, backend=MemoryBackend(), max_buffer=16)


@app.websocket("/room")
async def room(ws: WebSocket) -> None:
    await ws.accept()
    async with channels.attach(ws, "room"):
        async for text in ws.iter_text():
            await channels.publish("room", text)


@app.get("/stats")
async def stats() -> dict[str, int]:
    return {"dropped": channels.dropped, "subscribers": channels.subscribers("room")}
"""
MESSAGES = 200
PAD = "x" * 16_384


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    apps = tmp_path_factory.mktemp("slowapp")
    (apps / "slow_app.py").write_text(textwrap.dedent(APP))
    commands = {
        "uvicorn": uvicorn_command("slow_app:app"),
        "granian-asgi": granian_command("asgi", "slow_app:app"),
    }
    with running(commands, cwd=apps, pythonpath=apps) as started:
        yield started


def stuck_client(server: Server) -> socket.socket:
    """A WebSocket handshake by hand, then never a read: a 4 KiB receive buffer fills at once."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            "GET /room HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    assert sock.recv(12) == b"HTTP/1.1 101"
    return sock


def subscribers(server: Server) -> dict[str, int]:
    return httpx.get(server.url + "/stats", trust_env=False).json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", ["uvicorn", "granian-asgi"])
def test_a_client_that_stops_reading_never_stalls_the_others(
    servers: dict[str, Server], name: str
) -> None:
    server = servers[name]
    before = subscribers(server)["dropped"]
    with contextlib.ExitStack() as stack:
        stack.enter_context(contextlib.closing(stuck_client(server)))
        readers = [
            stack.enter_context(
                connect(server.ws_url + "/room", proxy=None, open_timeout=5, max_size=None)
            )
            for _ in range(3)
        ]
        deadline = time.monotonic() + 5
        while subscribers(server)["subscribers"] < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        began = time.monotonic()
        for n in range(MESSAGES):
            readers[0].send(f"{n}:{PAD}")
            for reader in readers:  # every reader keeps pace: nobody waits for the stuck one
                assert reader.recv(timeout=5) == f"{n}:{PAD}"
        elapsed = time.monotonic() - began
        assert subscribers(server)["dropped"] == before + 1
        assert elapsed < 10, f"{MESSAGES} messages took {elapsed:.1f} s"
