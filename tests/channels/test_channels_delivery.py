"""How a publish reaches subscribers whose server-side send has to wait (flow control).

Driven over ASGI in one event loop: each client's ``send`` can be held (as a server holds
it while the socket's buffer is full), so what the others get, and in what order, shows.
"""

from __future__ import annotations

import asyncio
from typing import Any

from channels_helpers import eventually, run_started

from plait import App, EventSourceResponse, WebSocket
from plait.channels import Channels, MemoryBackend


class Client:
    """One ASGI connection whose ``send`` blocks while ``held`` is cleared."""

    def __init__(self, app: App, scope: dict[str, Any], first: dict[str, Any]) -> None:
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.inbox.put_nowait(first)
        self.got: list[dict[str, Any]] = []
        self.held = asyncio.Event()
        self.held.set()
        self.task = asyncio.create_task(app(scope, self.inbox.get, self._send))

    async def _send(self, message: dict[str, Any]) -> None:
        await self.held.wait()
        self.got.append(message)

    def texts(self) -> list[str]:
        return [m["text"] for m in self.got if m["type"] == "websocket.send"]

    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.got if m["type"] == "http.response.body")


def ws_client(app: App, path: str) -> Client:
    scope = {"type": "websocket", "path": path, "headers": [], "query_string": b""}
    return Client(app, scope, {"type": "websocket.connect"})


def sse_client(app: App, path: str) -> Client:
    scope = {"type": "http", "method": "GET", "path": path, "headers": [], "query_string": b""}
    return Client(app, scope, {"type": "http.request", "body": b"", "more_body": False})


def room_app(max_buffer: int = 64) -> tuple[App, Channels]:
    app = App()
    channels = Channels(app, backend=MemoryBackend(), max_buffer=max_buffer)

    @app.websocket("/room")
    async def room(ws: WebSocket) -> None:
        await ws.accept()
        async with channels.attach(ws, "room"):
            async for text in ws.iter_text():
                await channels.publish("room", text)

    @app.get("/events")
    async def events() -> EventSourceResponse:
        return await channels.event_source("room", ping=None)

    return app, channels


def test_a_held_websocket_gets_every_message_in_order_and_holds_up_nobody() -> None:
    app, channels = room_app()

    async def main() -> None:
        slow, fast = ws_client(app, "/room"), ws_client(app, "/room")
        await eventually(lambda: channels.subscribers("room") == 2)
        slow.held.clear()  # its next send waits, as on a full socket
        for n in range(5):
            await channels.publish("room", f"m{n}")
        await eventually(lambda: fast.texts() == [f"m{n}" for n in range(5)])
        assert slow.texts() == []
        slow.held.set()
        await eventually(lambda: slow.texts() == [f"m{n}" for n in range(5)])
        await channels.publish("room", "after")  # delivered as before once it caught up
        await eventually(lambda: slow.texts()[-1:] == ["after"] and fast.texts()[-1:] == ["after"])
        for client in (slow, fast):
            client.inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
        await asyncio.gather(slow.task, fast.task)
        assert channels.subscribers("room") == 0

    run_started(app, main)


def test_a_websocket_that_leaves_while_its_send_waits_is_cleaned_up() -> None:
    app, channels = room_app()

    async def main() -> None:
        stuck, other = ws_client(app, "/room"), ws_client(app, "/room")
        await eventually(lambda: channels.subscribers("room") == 2)
        stuck.held.clear()
        await channels.publish("room", "one")
        stuck.inbox.put_nowait({"type": "websocket.disconnect", "code": 1001})
        await eventually(lambda: channels.subscribers("room") == 1)
        await channels.publish("room", "two")
        await eventually(lambda: other.texts() == ["one", "two"])
        stuck.task.cancel()  # the server gives up on the connection's last send
        other.inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
        await asyncio.wait([stuck.task, other.task])
        assert channels.subscribers("room") == 0

    run_started(app, main)


def test_events_that_piled_up_behind_a_held_stream_go_out_in_one_write() -> None:
    app, channels = room_app()

    async def main() -> None:
        held, free = sse_client(app, "/events"), sse_client(app, "/events")
        await eventually(lambda: channels.subscribers("room") == 2)
        await eventually(lambda: len(held.got) == 1 and len(free.got) == 1)  # the start
        held.held.clear()
        for n in range(4):
            await channels.publish("room", str(n))
        events = b"".join(b"event: room\ndata: %d\n\n" % n for n in range(4))
        await eventually(lambda: free.body() == events)
        held.held.set()
        await eventually(lambda: held.body() == events)
        bodies = [m["body"] for m in held.got if m["type"] == "http.response.body"]
        # The first event waited in its send; the three behind it went out together.
        assert bodies == [b"event: room\ndata: 0\n\n", events[len(bodies[0]) :]]
        for client in (held, free):
            client.inbox.put_nowait({"type": "http.disconnect"})
        await asyncio.gather(held.task, free.task)
        assert channels.subscribers("room") == 0

    run_started(app, main)


def test_a_held_websocket_that_falls_too_far_behind_is_dropped() -> None:
    app, channels = room_app(max_buffer=3)

    async def main() -> None:
        stuck, fast = ws_client(app, "/room"), ws_client(app, "/room")
        await eventually(lambda: channels.subscribers("room") == 2)
        stuck.held.clear()
        for n in range(6):  # one waiting in its send, three buffered, then one too many
            await channels.publish("room", f"m{n}")
        await eventually(lambda: channels.dropped == 1)
        await eventually(lambda: fast.texts() == [f"m{n}" for n in range(6)])
        stuck.held.set()
        await eventually(lambda: any(m["type"] == "websocket.close" for m in stuck.got))
        assert [m.get("code") for m in stuck.got if m["type"] == "websocket.close"] == [1013]
        fast.inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
        stuck.inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
        await asyncio.gather(stuck.task, fast.task)

    run_started(app, main)
