"""plait.channels in one process: groups, WebSockets, event streams, back-pressure."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels_helpers import eventually

from plait import App, EventSourceResponse, WebSocket
from plait.channels import SLOW_CONSUMER, Channels, MemoryBackend
from plait.testing import TestClient


def chat_app(**options: Any) -> tuple[App, Channels]:
    app = App()
    channels = Channels(app, backend=MemoryBackend(), **options)

    @app.websocket("/rooms/{room}")
    async def room(ws: WebSocket, room: str) -> None:
        await ws.accept()
        async with channels.attach(ws, f"room:{room}"):
            async for text in ws.iter_text():
                await channels.publish(f"room:{room}", {"text": text})

    @app.post("/rooms/{room}")
    async def say(room: str, message: dict[str, str]) -> None:
        await channels.publish(f"room:{room}", message)

    @app.get("/rooms/{room}/events")
    async def events(room: str) -> EventSourceResponse:
        return await channels.event_source(f"room:{room}")

    return app, channels


def wait_for_subscribers(client: TestClient, channels: Channels, group: str, count: int) -> None:
    for _ in range(200):
        if channels.subscribers(group) == count:
            return
        client.get("/nothing")  # lets the app's loop run
    raise AssertionError(f"{group} has {channels.subscribers(group)} subscribers, not {count}")


def test_a_message_reaches_every_websocket_of_its_group_only() -> None:
    app, channels = chat_app()
    with (
        TestClient(app) as client,
        client.websocket_connect("/rooms/1") as ada,
        client.websocket_connect("/rooms/1") as bob,
        client.websocket_connect("/rooms/2") as eve,
    ):
        wait_for_subscribers(client, channels, "room:1", 2)
        wait_for_subscribers(client, channels, "room:2", 1)
        ada.send_text("hello")
        assert ada.receive_json() == {"text": "hello"}
        assert bob.receive_json() == {"text": "hello"}
        assert client.post("/rooms/2", json={"text": "psst"}).status_code == 204
        assert eve.receive_json() == {"text": "psst"}
        client.post("/rooms/1", json={"text": "second"})
        assert bob.receive_json() == {"text": "second"}
    assert channels.subscribers("room:1") == 0


def test_subscriptions_end_with_the_websocket() -> None:
    app, channels = chat_app()
    with TestClient(app) as client:
        with client.websocket_connect("/rooms/1"):
            wait_for_subscribers(client, channels, "room:1", 1)
        wait_for_subscribers(client, channels, "room:1", 0)


def test_a_message_is_encoded_once_for_all_subscribers() -> None:
    async def main() -> None:
        async with (
            Channels(backend=MemoryBackend()) as channels,
            channels.subscribe("news") as first,
            channels.subscribe("news") as second,
        ):
            await channels.publish("news", {"n": 1})
            one, two = await first.get(), await second.get()
            assert one is two  # the same message object, encoded and decoded once
            assert one is not None
            assert one.text is one.text
            assert one.json() == {"n": 1}
            assert one.group == "news"

    asyncio.run(main())


def test_strings_and_bytes_are_sent_as_they_are() -> None:
    async def main() -> None:
        async with Channels(backend=MemoryBackend()) as channels, channels.subscribe("g") as sub:
            await channels.publish("g", "plain text")
            await channels.publish("g", b"\x00raw")
            text, raw = await sub.get(), await sub.get()
            assert text is not None
            assert text.text == "plain text"
            assert raw is not None
            assert raw.data == b"\x00raw"

    asyncio.run(main())


def test_a_slow_subscriber_is_dropped_and_never_holds_up_the_others() -> None:
    async def main() -> None:
        async with (
            Channels(backend=MemoryBackend(), max_buffer=10) as channels,
            channels.subscribe("ticks") as slow,
            channels.subscribe("ticks") as fast,
        ):
            received = []
            for n in range(50):
                await channels.publish("ticks", n)
                message = await fast.get()
                assert message is not None
                received.append(message.json())
            assert received == list(range(50))
            assert slow.dropped
            assert [m async for m in slow] == []  # the buffer was let go
            assert not fast.dropped

    asyncio.run(main())


def test_a_websocket_that_does_not_read_is_closed_with_1013_and_others_get_everything() -> None:
    app, channels = chat_app(max_buffer=5)
    sent: dict[str, list[dict[str, Any]]] = {"slow": [], "fast": []}

    async def connect(name: str, stuck: asyncio.Event | None) -> None:
        incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        incoming.put_nowait({"type": "websocket.connect"})

        async def receive() -> dict[str, Any]:
            return await incoming.get()

        async def send(message: dict[str, Any]) -> None:
            sent[name].append(message)
            if message["type"] == "websocket.close":
                incoming.put_nowait({"type": "websocket.disconnect", "code": 1000})
            elif stuck is not None and message["type"] == "websocket.send":
                await stuck.wait()  # a client whose socket buffer is full

        scope = {"type": "websocket", "path": "/rooms/9", "headers": [], "subprotocols": []}
        await app(scope, receive, send)

    async def main() -> None:
        await app.startup()
        never = asyncio.Event()
        slow = asyncio.create_task(connect("slow", never))
        fast = asyncio.create_task(connect("fast", None))
        await eventually(lambda: channels.subscribers("room:9") == 2)
        for n in range(30):
            await channels.publish("room:9", {"n": n})
            await asyncio.sleep(0)
        await asyncio.wait_for(slow, 5)  # the slow client's handler ends: it was closed
        assert channels.dropped == 1
        assert sent["slow"][-1]["type"] == "websocket.close"
        assert sent["slow"][-1]["code"] == SLOW_CONSUMER
        await eventually(lambda: len(sent["fast"]) >= 31)
        texts = [m["text"] for m in sent["fast"] if m["type"] == "websocket.send"]
        assert texts == [f'{{"n":{n}}}' for n in range(30)]
        fast.cancel()
        await app.shutdown()

    asyncio.run(main())


def test_event_source_streams_a_group_as_server_sent_events() -> None:
    app, channels = chat_app()

    async def main() -> list[bytes]:
        await app.startup()
        chunks: list[bytes] = []
        done = asyncio.Event()
        incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

        async def receive() -> dict[str, Any]:
            return await incoming.get()

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                assert message["status"] == 200
            elif message.get("body"):
                chunks.append(message["body"])
                if b"".join(chunks).count(b"\n\n") == 2:
                    done.set()

        scope = {
            "type": "http",
            "method": "GET",
            "path": "/rooms/5/events",
            "headers": [],
            "query_string": b"",
        }
        stream = asyncio.create_task(app(scope, receive, send))
        await eventually(lambda: channels.subscribers("room:5") == 1)
        await channels.publish("room:5", {"text": "hi"})
        await channels.publish("room:5", "two\nlines")
        await asyncio.wait_for(done.wait(), 5)
        incoming.put_nowait({"type": "http.disconnect"})
        await asyncio.wait_for(stream, 5)
        assert channels.subscribers("room:5") == 0
        await app.shutdown()
        return chunks

    assert b"".join(asyncio.run(main())) == (
        b'event: room:5\ndata: {"text":"hi"}\n\nevent: room:5\ndata: two\ndata: lines\n\n'
    )


@pytest.mark.parametrize("group", ["", "has space", "x" * 201, "caf\u00e9"])
def test_bad_group_names_are_refused(group: str) -> None:
    async def main() -> None:
        async with Channels(backend=MemoryBackend()) as channels:
            with pytest.raises(ValueError, match="group name"):
                await channels.publish(group, "x")

    asyncio.run(main())


def test_subscribing_before_start_says_what_to_do() -> None:
    async def main() -> None:
        channels = Channels(backend=MemoryBackend())
        with pytest.raises(RuntimeError, match="not started"):
            async with channels.subscribe("g"):
                pass

    asyncio.run(main())
