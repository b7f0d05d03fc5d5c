"""In-process drivers of the real-time endpoints, for ``callgrind.py`` (instructions per message).

Each runs one asyncio event loop with fake ASGI ``receive``/``send`` (no server, no sockets),
after the app's lifespan start-up, and serves ``count`` units: echoed messages (``ws-echo``,
``ws-json``), or deliveries to ``FANOUT`` subscribers (``ws-room``: one member's messages
broadcast to all; ``sse``: POSTs to ``/sse/publish`` streamed to every ``/sse/room``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

__all__ = ["FANOUT", "RT_ENDPOINTS", "drive"]

FANOUT = 100
RT_ENDPOINTS = ("ws-echo", "ws-json", "ws-room", "sse")
TEXT = "Hello, World! " * 4
JSON = '{"message":"Hello, World!","n":42,"tags":["fast","typed"]}'


def _scope(kind: str, path: str, method: str = "GET") -> dict[str, Any]:
    scope: dict[str, Any] = {
        "type": kind,
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 40000),
        "scheme": "ws" if kind == "websocket" else "http",
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"content-type", b"text/plain")],
        "state": {},
    }
    if kind == "websocket":
        scope["subprotocols"] = []
    else:
        scope["method"] = method
    return scope


async def _lifespan(app: Any) -> Callable[[], Any]:
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    started = asyncio.get_running_loop().create_future()

    async def receive() -> dict[str, Any]:
        return await inbox.get()

    async def send(message: dict[str, Any]) -> None:
        if message["type"].startswith("lifespan.startup") and not started.done():
            started.set_result(message["type"])

    task = asyncio.create_task(app({"type": "lifespan", "state": {}}, receive, send))
    inbox.put_nowait({"type": "lifespan.startup"})
    await asyncio.wait([started, task], return_when=asyncio.FIRST_COMPLETED)

    async def stop() -> None:
        inbox.put_nowait({"type": "lifespan.shutdown"})
        await asyncio.wait([task], timeout=2)

    return stop


async def _echo(app: Any, path: str, text: str, count: int) -> int:
    messages = iter(
        [{"type": "websocket.connect"}]
        + [{"type": "websocket.receive", "text": text}] * count
        + [{"type": "websocket.disconnect", "code": 1000}]
    )
    sent = 0

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        nonlocal sent
        if message["type"] == "websocket.send":
            sent += 1

    await app(_scope("websocket", path), receive, send)
    return sent


class _FanOut:
    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.delivered = 0
        self.done = asyncio.get_running_loop().create_future()
        self.gone = asyncio.Event()

    def count(self) -> None:
        self.delivered += 1
        if self.delivered == self.expected and not self.done.done():
            self.done.set_result(None)


async def _room(app: Any, count: int) -> int:
    fan = _FanOut(FANOUT * count)

    async def member(index: int, joined: asyncio.Event) -> None:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        queue.put_nowait({"type": "websocket.connect"})

        async def receive() -> dict[str, Any]:
            return await queue.get()

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "websocket.accept":
                joined.set()
            elif message["type"] == "websocket.send":
                fan.count()

        async def leave() -> None:
            await fan.gone.wait()
            queue.put_nowait({"type": "websocket.disconnect", "code": 1000})

        leaving = asyncio.create_task(leave())
        members.append(queue)
        await app(_scope("websocket", "/ws/room"), receive, send)
        await leaving

    members: list[asyncio.Queue[dict[str, Any]]] = []
    tasks = []
    for index in range(FANOUT):
        joined = asyncio.Event()
        tasks.append(asyncio.create_task(member(index, joined)))
        await joined.wait()
    for _ in range(5):
        await asyncio.sleep(0)  # the last member's subscription is in place
    for n in range(count):
        members[0].put_nowait({"type": "websocket.receive", "text": str(n)})
    await fan.done
    fan.gone.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return fan.delivered


async def _sse(app: Any, count: int) -> int:
    fan = _FanOut(FANOUT * count)

    async def listener(started: asyncio.Event) -> None:
        first = True

        async def receive() -> dict[str, Any]:
            nonlocal first
            if first:
                first = False
                return {"type": "http.request", "body": b"", "more_body": False}
            await fan.gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                started.set()
            elif message["type"] == "http.response.body" and message.get("body"):
                fan.count()

        await app(_scope("http", "/sse/room"), receive, send)

    async def publish(n: int) -> None:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": str(n).encode(), "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            pass

        await app(_scope("http", "/sse/publish", "POST"), receive, send)

    tasks = []
    for _ in range(FANOUT):
        started = asyncio.Event()
        tasks.append(asyncio.create_task(listener(started)))
        await started.wait()
    for _ in range(5):
        await asyncio.sleep(0)
    for n in range(count):
        await publish(n)
        await asyncio.sleep(0)
    await fan.done
    fan.gone.set()
    await asyncio.wait(tasks, timeout=2)
    for task in tasks:
        task.cancel()
    return fan.delivered


def drive(app: Any, endpoint: str, count: int) -> int:
    """Serve ``count`` units of ``endpoint`` (after 50 to warm up); what was delivered."""

    async def main() -> int:
        stop = await _lifespan(app)
        try:
            if endpoint in ("ws-echo", "ws-json"):
                path, text = ("/ws/echo", TEXT) if endpoint == "ws-echo" else ("/ws/json", JSON)
                await _echo(app, path, text, 50)
                return await _echo(app, path, text, count)
            run = _room if endpoint == "ws-room" else _sse
            await run(app, 2)
            return await run(app, count)
        finally:
            await stop()

    return asyncio.run(main())
