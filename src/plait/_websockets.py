"""The WebSocket connection handed to WebSocket handlers."""

from __future__ import annotations

import contextlib
import enum
from collections.abc import AsyncIterator, Iterable
from typing import Any, Literal

import msgspec

from plait._request import HTTPConnection
from plait.types import Message, Receive, Scope, Send

__all__ = ["WebSocket", "WebSocketDisconnect", "WebSocketState"]

_decode_json = msgspec.json.decode
_encode_json = msgspec.json.encode


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

    __slots__ = ("_close_code", "_receive", "_send", "application_state", "client_state")

    def __init__(self, scope: Scope, receive: Receive, send: Send, app: Any = None) -> None:
        super().__init__(scope, app)
        self._receive = receive
        self._send = send
        self._close_code = 1000
        self.client_state = WebSocketState.CONNECTING
        self.application_state = WebSocketState.CONNECTING

    @property
    def subprotocols(self) -> list[str]:
        """The subprotocols the client offered, in its order of preference."""
        return list(self.scope.get("subprotocols") or ())

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
        """Send a raw ASGI message; a peer that has gone raises ``WebSocketDisconnect(1006)``."""
        if self.application_state is WebSocketState.DISCONNECTED:
            raise RuntimeError("Cannot send on a closed WebSocket")
        kind = message["type"]
        if kind == "websocket.send":  # PERF: the common case first (a channels fan-out)
            pass
        elif kind == "websocket.close":
            self.application_state = WebSocketState.DISCONNECTED
            self._close_code = message.get("code", 1000)
        elif kind == "websocket.http.response.start":
            self.application_state = WebSocketState.DISCONNECTED
        elif kind == "websocket.accept":
            self.application_state = WebSocketState.CONNECTED
        try:
            await self._send(message)
        except OSError:
            # ASGI servers raise an OSError when the client went away mid-send.
            self.client_state = self.application_state = WebSocketState.DISCONNECTED
            raise WebSocketDisconnect(1006, "The client went away") from None

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
        state = self.application_state
        if state is WebSocketState.DISCONNECTED:
            # We closed it: the conversation is over, as if the peer had answered our close.
            raise WebSocketDisconnect(self._close_code, "The WebSocket was closed")
        if state is not WebSocketState.CONNECTED:
            raise RuntimeError('WebSocket is not connected: call "await websocket.accept()"')

    def _check_can_send(self) -> None:
        if self.application_state is WebSocketState.CONNECTING:
            raise RuntimeError('WebSocket is not connected: call "await websocket.accept()"')

    async def receive_text(self) -> str:
        """The next text message; a bytes message raises ``TypeError``."""
        self._check_accepted()
        return str(self._data(await self.receive(), "text"))

    async def receive_bytes(self) -> bytes:
        """The next bytes message; a text message raises ``TypeError``."""
        self._check_accepted()
        return bytes(self._data(await self.receive(), "bytes"))

    async def receive_json(self, mode: Literal["text", "binary"] = "text") -> Any:
        """A JSON message; malformed JSON closes the connection with 1007 (invalid data)."""
        if mode not in ("text", "binary"):
            raise ValueError(f'mode must be "text" or "binary", not {mode!r}')
        self._check_accepted()
        message = await self.receive()
        return await self._decode(self._data(message, "text" if mode == "text" else "bytes"))

    async def _decode(self, data: str | bytes) -> Any:
        """JSON ``data``; malformed JSON closes the connection with 1007 (invalid data)."""
        try:
            return _decode_json(data)
        except (msgspec.DecodeError, RecursionError):  # nested too deeply is malformed too
            await self.close(1007, "Malformed JSON")
            raise WebSocketDisconnect(1007, "Malformed JSON") from None

    def iter_text(self) -> AsyncIterator[str]:
        """Yield text messages until the peer disconnects."""
        return self._iter_texts(decode=False)

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        try:
            while True:
                yield await self.receive_bytes()
        except WebSocketDisconnect:
            pass

    def iter_json(self) -> AsyncIterator[Any]:
        """Yield JSON text messages until the peer disconnects (malformed JSON: 1007)."""
        return self._iter_texts(decode=True)

    async def _iter_texts(self, *, decode: bool) -> AsyncIterator[Any]:
        """The text messages (``decode``: as JSON) until the peer disconnects."""
        try:
            while True:
                # PERF: once connected, read straight from the server (the loop of every
                # echo and chat handler); other states take receive_text's checks.
                if self.client_state is WebSocketState.CONNECTED and (
                    self.application_state is WebSocketState.CONNECTED
                ):
                    message = await self._receive()
                    text = message.get("text")
                    if text is None:
                        if message["type"] == "websocket.disconnect":
                            self.client_state = WebSocketState.DISCONNECTED
                        text = self._data(message, "text")  # raises: disconnected, or bytes
                else:
                    text = await self.receive_text()
                yield await self._decode(text) if decode else text
        except WebSocketDisconnect:
            pass

    async def send_text(self, data: str) -> None:
        if self.application_state is WebSocketState.CONNECTED:
            await self._send_data({"type": "websocket.send", "text": data})
            return
        self._check_can_send()
        await self.send({"type": "websocket.send", "text": data})

    async def send_bytes(self, data: bytes) -> None:
        if self.application_state is WebSocketState.CONNECTED:
            await self._send_data({"type": "websocket.send", "bytes": data})
            return
        self._check_can_send()
        await self.send({"type": "websocket.send", "bytes": data})

    async def _send_data(self, message: Message) -> None:
        """``send`` for a data message on an open connection (PERF: the per-message path)."""
        try:
            await self._send(message)
        except OSError:
            self.client_state = self.application_state = WebSocketState.DISCONNECTED
            raise WebSocketDisconnect(1006, "The client went away") from None

    async def send_json(self, data: Any, mode: Literal["text", "binary"] = "text") -> None:
        """Send ``data`` encoded as JSON (msgspec), in a text or a binary message."""
        if mode not in ("text", "binary"):
            raise ValueError(f'mode must be "text" or "binary", not {mode!r}')
        encoded = _encode_json(data)
        if mode == "text":
            await self.send_text(encoded.decode())
        else:
            await self.send_bytes(encoded)

    async def _finish(self) -> None:
        """Called once the handler returned: close what it left open.

        Before ``accept`` this refuses the handshake; after it, it closes normally (1000).
        A peer that already left is not written to.
        """
        if self.application_state is WebSocketState.DISCONNECTED:
            return
        if self.client_state is WebSocketState.DISCONNECTED:
            self.application_state = WebSocketState.DISCONNECTED
            return
        with contextlib.suppress(WebSocketDisconnect):
            await self.close(1000)
