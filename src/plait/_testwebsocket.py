"""``WebSocketTestSession``: one WebSocket conversation with an app, driven from test code
(``TestClient.websocket_connect`` makes them)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
from collections.abc import Coroutine
from typing import Any, Protocol, TypeVar

import msgspec

from plait._websockets import WebSocketDisconnect
from plait.types import ASGIApp, Message, Scope

__all__ = ["WebSocketDenied", "WebSocketTestSession"]

T = TypeVar("T")


class _Client(Protocol):
    """What a session needs of its test client: the app, and the loop it runs the app in."""

    app: ASGIApp

    def _portal_loop(self) -> asyncio.AbstractEventLoop: ...

    def _portal_submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]: ...


class WebSocketDenied(Exception):
    """The app refused the WebSocket handshake (closed before accepting)."""

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason
        super().__init__(code, reason)


class WebSocketTestSession:
    """One WebSocket conversation with the app, driven from test code."""

    def __init__(self, client: _Client, scope: Scope) -> None:
        self._client = client
        self._scope = scope
        self._to_app: asyncio.Queue[Message] | None = None
        self._from_app: queue.Queue[Message] = queue.Queue()
        self._task: concurrent.futures.Future[None] | None = None
        self.accepted_subprotocol: str | None = None
        self.accepted_headers: list[tuple[bytes, bytes]] = []
        self.close_code: int | None = None
        self.close_reason = ""

    async def _run(self) -> None:
        self._to_app = asyncio.Queue()
        self._to_app.put_nowait({"type": "websocket.connect"})
        to_app = self._to_app

        async def receive() -> Message:
            return await to_app.get()

        async def send(message: Message) -> None:
            self._from_app.put(message)
            if message["type"] == "websocket.close":
                # As a server does: once the app closed, its next receive() is a disconnect.
                to_app.put_nowait({"type": "websocket.disconnect", "code": message.get("code")})

        try:
            await self._client.app(self._scope, receive, send)
        finally:
            self._from_app.put({"type": "_app.finished"})

    def __enter__(self) -> WebSocketTestSession:
        self._task = self._client._portal_submit(self._run())
        message = self._next()
        if message["type"] == "websocket.accept":
            self.accepted_subprotocol = message.get("subprotocol")
            self.accepted_headers = list(message.get("headers", []))
            return self
        code = message.get("code", 1000) if message["type"] == "websocket.close" else 1006
        self._wait()
        raise WebSocketDenied(code, message.get("reason", "") or "")

    def __exit__(self, *exc_info: object) -> None:
        if self.close_code is None:
            self._put({"type": "websocket.disconnect", "code": 1000, "reason": ""})
        self._wait()

    def _wait(self) -> None:
        if self._task is not None:
            self._task.result(timeout=30)

    def _put(self, message: Message) -> None:
        to_app = self._to_app
        if to_app is not None:
            self._client._portal_loop().call_soon_threadsafe(to_app.put_nowait, message)

    def _next(self, timeout: float = 30) -> Message:
        message = self._from_app.get(timeout=timeout)
        if message["type"] == "_app.finished":
            self._wait()
            raise RuntimeError("The WebSocket app ended without closing the connection")
        return message

    def send(self, message: Message) -> None:
        self._put(message)

    def send_text(self, data: str) -> None:
        self._put({"type": "websocket.receive", "text": data})

    def send_bytes(self, data: bytes) -> None:
        self._put({"type": "websocket.receive", "bytes": data})

    def send_json(self, data: Any) -> None:
        self.send_text(msgspec.json.encode(data).decode())

    def receive(self) -> Message:
        """The next message the app sent; a close raises ``WebSocketDisconnect``."""
        message = self._next()
        if message["type"] == "websocket.close":
            self.close_code = message.get("code", 1000)
            self.close_reason = message.get("reason", "") or ""
            raise WebSocketDisconnect(self.close_code or 1000, self.close_reason)
        return message

    def receive_text(self) -> str:
        message = self.receive()
        if message.get("text") is None:
            raise TypeError("Expected a text message, got bytes")
        return str(message["text"])

    def receive_bytes(self) -> bytes:
        message = self.receive()
        if message.get("bytes") is None:
            raise TypeError("Expected a bytes message, got text")
        return bytes(message["bytes"])

    def receive_json(self) -> Any:
        message = self.receive()
        data = message.get("text")
        if data is None:
            data = message["bytes"]
        return msgspec.json.decode(data)

    def close(self, code: int = 1000, reason: str = "") -> None:
        self.close_code = code
        self._put({"type": "websocket.disconnect", "code": code, "reason": reason})
