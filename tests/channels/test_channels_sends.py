"""A fan-out over the server's own ``send``: what it does when that send fails or is native.

Driven over ASGI in one event loop. A publish sends straight through each subscriber's
server-side ``send`` (no ``WebSocket.send`` between), so what a server's send can do reaches
the subscription as it is: raise an ``OSError`` (the client went away), refuse once the
handler closed the socket, or return an awaitable that is not a coroutine (granian's are
native objects) and wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Generator
from typing import Any

from channels_helpers import eventually, run_started

from plait import App, WebSocket
from plait.channels import Channels, MemoryBackend
from plait.types import Message, Send

SCOPE = {"type": "websocket", "path": "/room", "headers": [], "query_string": b""}


class Conn:
    """One WebSocket connection to ``/room``; ``send`` is what the server does with a message."""

    def __init__(self, app: App, send: Send) -> None:
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.inbox.put_nowait({"type": "websocket.connect"})
        self.task: asyncio.Future[None] = asyncio.ensure_future(
            app(dict(SCOPE), self.inbox.get, send)
        )

    async def leave(self) -> None:
        """The client disconnects; the handler then ends."""
        self.inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
        await self.task


class Recorder:
    """A server's send that keeps what it was given (and raises once ``gone`` is set)."""

    def __init__(self) -> None:
        self.got: list[Message] = []
        self.gone = False

    async def __call__(self, message: Message) -> None:
        if self.gone and message["type"] == "websocket.send":
            raise ConnectionResetError("the client went away")
        self.got.append(message)

    def texts(self) -> list[str]:
        return [m["text"] for m in self.got if m["type"] == "websocket.send"]


def room_app() -> tuple[App, Channels]:
    app = App()
    channels = Channels(app, backend=MemoryBackend())

    @app.websocket("/room")
    async def room(ws: WebSocket) -> None:
        await ws.accept()
        async with channels.attach(ws, "room"):
            async for text in ws.iter_text():
                if text == "close":  # the handler closes its socket while still subscribed
                    await ws.close(4000)
                    await channels.publish("room", "after close")
                    break
                await channels.publish("room", text)

    return app, channels


def in_room(test: Callable[[App, Channels], Awaitable[None]]) -> None:
    """Run ``test(app, channels)`` on a new room app, started, in a new event loop."""
    app, channels = room_app()
    run_started(app, lambda: test(app, channels))


async def join(app: App, channels: Channels, *sends: Send) -> list[Conn]:
    """Connect one client per server-side ``send`` to the room, and wait until all joined."""
    conns = [Conn(app, send) for send in sends]
    await eventually(lambda: channels.subscribers("room") == len(conns))
    return conns


def test_a_subscriber_whose_client_went_away_is_skipped_without_an_error() -> None:
    async def main(app: App, channels: Channels) -> None:
        lost, kept = Recorder(), Recorder()
        gone, other = await join(app, channels, lost, kept)
        lost.gone = True  # its server's send now raises, as uvicorn's does for a closed socket
        await channels.publish("room", "one")
        await channels.publish("room", "two")
        await eventually(lambda: kept.texts() == ["one", "two"])
        await gone.leave()  # the handler ends as for any disconnect: no error, no 1011
        assert [m["type"] for m in lost.got] == ["websocket.accept"]
        assert channels.subscribers("room") == 1
        await other.leave()

    in_room(main)


def test_a_socket_the_handler_closed_gets_no_more_messages() -> None:
    async def main(app: App, channels: Channels) -> None:
        closing, watching = Recorder(), Recorder()
        closer, watcher = await join(app, channels, closing, watching)
        closer.inbox.put_nowait({"type": "websocket.receive", "text": "close"})
        await closer.task  # published "after close" to itself too: not sent, no error
        assert [m["type"] for m in closing.got] == ["websocket.accept", "websocket.close"]
        await eventually(lambda: watching.texts() == ["after close"])
        await watcher.leave()

    in_room(main)


class NativeSend:
    """A server's send returning an awaitable that is not a coroutine, held while ``held``."""

    def __init__(self) -> None:
        self.got: list[str] = []
        self.held = asyncio.get_running_loop().create_future()
        self.held.set_result(None)

    def hold(self) -> None:
        self.held = asyncio.get_running_loop().create_future()

    def __call__(self, message: Message) -> _Sending:
        return _Sending(self, message)


class _Sending:
    """``__await__`` returns an iterator with only ``__next__`` (no send, no throw)."""

    def __init__(self, server: NativeSend, message: Message) -> None:
        self.server = server
        self.message = message

    def __await__(self) -> Generator[Any, None, None]:
        return self  # type: ignore[return-value]

    def __next__(self) -> Any:
        held = self.server.held
        if not held.done():
            held._asyncio_future_blocking = True  # what a future's own __await__ yields
            return held
        if self.message["type"] == "websocket.send":
            self.server.got.append(self.message["text"])
        raise StopIteration


def test_a_native_send_that_waits_gets_every_message_in_order_and_can_be_left() -> None:
    async def main(app: App, channels: Channels) -> None:
        native, fast = NativeSend(), Recorder()
        slow, other = await join(app, channels, native, fast)
        native.hold()
        for n in range(3):
            await channels.publish("room", f"m{n}")
        await eventually(lambda: fast.texts() == ["m0", "m1", "m2"])
        assert native.got == []
        native.held.set_result(None)
        await eventually(lambda: native.got == ["m0", "m1", "m2"])
        native.hold()
        await channels.publish("room", "stuck")  # waits in the native send when the client
        await slow.leave()  # leaves: the wait is cancelled, the handler ends
        assert channels.subscribers("room") == 1
        await other.leave()

    in_room(main)
