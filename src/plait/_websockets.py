"""The WebSocket connection handed to WebSocket handlers."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any

import msgspec

from plait._request import HTTPConnection
from plait._types import Message, Receive, Scope, Send

if TYPE_CHECKING:
    from plait._app import App

__all__ = ["WebSocket", "WebSocketDisconnect", "WebSocketState"]


class WebSocketState(enum.Enum):
    CONNECTING = 0
    CONNECTED = 1
    DISCONNECTED = 2


class WebSocketDisconnect(Exception):
    """The peer closed the connection (``code`` is the close code it sent)."""

    def __init__(self, code: int = 1000, reason: str = "") -> None:
        self.code = code
        self.reason = reason
        super().__init__(code, reason)


class WebSocket(HTTPConnection):
    """A WebSocket connection: ``accept``, then send/receive text, bytes or JSON::

    @app.websocket("/echo")
    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        async for text in ws.iter_text():
            await ws.send_text(text)
    """

    __slots__ = ("_receive", "_send", "application_state", "client_state")

    def __init__(self, scope: Scope, receive: Receive, send: Send, app: App | None = None) -> None:
        super().__init__(scope, app)
        self._receive = receive
        self._send = send
        self.client_state = WebSocketState.CONNECTING
        self.application_state = WebSocketState.CONNECTING

    async def receive(self) -> Message:
        """The next raw ASGI message (``websocket.receive`` or ``websocket.disconnect``)."""
        if self.client_state is WebSocketState.DISCONNECTED:
            raise WebSocketDisconnect(1006, "The connection is already closed")
        if self.client_state is WebSocketState.CONNECTING:
            message = await self._receive()
            if message["type"] != "websocket.connect":
                raise RuntimeError(f"Expected websocket.connect, got {message['type']!r}")
            self.client_state = WebSocketState.CONNECTED
            return message
        message = await self._receive()
        if message["type"] == "websocket.disconnect":
            self.client_state = WebSocketState.DISCONNECTED
        return message

    async def send(self, message: Message) -> None:
        if self.application_state is WebSocketState.DISCONNECTED:
            raise RuntimeError("Cannot send on a closed WebSocket")
        if message["type"] in ("websocket.close", "websocket.http.response.start"):
            self.application_state = WebSocketState.DISCONNECTED
        elif message["type"] == "websocket.accept":
            self.application_state = WebSocketState.CONNECTED
        await self._send(message)

    async def accept(
        self,
        subprotocol: str | None = None,
        headers: Iterable[tuple[bytes, bytes]] | None = None,
    ) -> None:
        """Complete the handshake, optionally choosing one of the client's subprotocols."""
        if self.client_state is WebSocketState.CONNECTING:
            await self.receive()
        if self.application_state is not WebSocketState.CONNECTING:
            raise RuntimeError("accept() was already called or the socket is closed")
        await self.send(
            {"type": "websocket.accept", "subprotocol": subprotocol, "headers": list(headers or [])}
        )

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the connection (before ``accept`` this refuses the handshake: HTTP 403)."""
        if self.application_state is WebSocketState.DISCONNECTED:
            return
        await self.send({"type": "websocket.close", "code": code, "reason": reason or ""})

    def _data(self, message: Message, key: str) -> Any:
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000), message.get("reason") or "")
        value = message.get(key)
        if value is None:
            other = "bytes" if key == "text" else "text"
            raise TypeError(f"Expected a {key} message, received {other}")
        return value

    def _check_accepted(self) -> None:
        if self.application_state is not WebSocketState.CONNECTED:
            raise RuntimeError('WebSocket is not connected: call "await websocket.accept()"')

    async def receive_text(self) -> str:
        self._check_accepted()
        return str(self._data(await self.receive(), "text"))

    async def receive_bytes(self) -> bytes:
        self._check_accepted()
        return bytes(self._data(await self.receive(), "bytes"))

    async def receive_json(self, mode: str = "text") -> Any:
        """A JSON message; malformed JSON closes the connection with 1007 (invalid data)."""
        self._check_accepted()
        message = await self.receive()
        data = self._data(message, "text" if mode == "text" else "bytes")
        try:
            return msgspec.json.decode(data)
        except msgspec.DecodeError:
            await self.close(1007, "Malformed JSON")
            raise WebSocketDisconnect(1007, "Malformed JSON") from None

    async def iter_text(self) -> AsyncIterator[str]:
        """Yield text messages until the peer disconnects."""
        try:
            while True:
                yield await self.receive_text()
        except WebSocketDisconnect:
            pass

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        try:
            while True:
                yield await self.receive_bytes()
        except WebSocketDisconnect:
            pass

    async def iter_json(self) -> AsyncIterator[Any]:
        try:
            while True:
                yield await self.receive_json()
        except WebSocketDisconnect:
            pass

    async def send_text(self, data: str) -> None:
        await self.send({"type": "websocket.send", "text": data})

    async def send_bytes(self, data: bytes) -> None:
        await self.send({"type": "websocket.send", "bytes": data})

    async def send_json(self, data: Any, mode: str = "text") -> None:
        encoded = msgspec.json.encode(data)
        if mode == "text":
            await self.send_text(encoded.decode())
        else:
            await self.send_bytes(encoded)
