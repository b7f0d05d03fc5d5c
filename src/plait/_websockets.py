"""The WebSocket connection handed to WebSocket handlers."""

from __future__ import annotations

import contextlib
import enum
from collections.abc import AsyncIterator, Iterable
from typing import Any, Literal, NoReturn

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


_CONNECTED = WebSocketState.CONNECTED


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
        except OSError:  # ASGI servers raise an OSError when the client went away mid-send
            raise self._went_away() from None

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
            self.client_state = WebSocketState.DISCONNECTED
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

    async def _next(self, key: str) -> Any:
        """The next message's ``key`` ("text" or "bytes"): a disconnect raises, the other kind
        of message is a ``TypeError``.

        PERF: on an open connection (the per-message path of every echo and chat handler)
        this reads straight from the server, without ``receive``'s state machine.
        """
        if self.client_state is _CONNECTED and self.application_state is _CONNECTED:
            message = await self._receive()
            data = message.get(key)
            return self._data(message, key) if data is None else data
        self._check_accepted()
        return self._data(await self.receive(), key)

    async def receive_text(self) -> str:
        """The next text message; a bytes message raises ``TypeError``."""
        text: str = await self._next("text")
        return text

    async def receive_bytes(self) -> bytes:
        """The next bytes message; a text message raises ``TypeError``."""
        return bytes(await self._next("bytes"))

    async def receive_json(self, mode: Literal["text", "binary"] = "text") -> Any:
        """A JSON message; malformed JSON closes the connection with 1007 (invalid data)."""
        if mode == "text":
            data = await self._next("text")
        elif mode == "binary":
            data = await self._next("bytes")
        else:
            raise ValueError(f'mode must be "text" or "binary", not {mode!r}')
        try:
            return _decode_json(data)
        except (msgspec.DecodeError, RecursionError):  # nested too deeply is malformed too
            await self._malformed()

    async def _malformed(self) -> NoReturn:
        """Close with 1007 (invalid data) and end the conversation: the peer sent bad JSON."""
        await self.close(1007, "Malformed JSON")
        raise WebSocketDisconnect(1007, "Malformed JSON")

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
        receive = self._receive
        try:
            while True:
                # PERF: once connected, read straight from the server (the loop of every
                # echo and chat handler: no frame of ours per message); other states take
                # _next's checks.
                if self.client_state is _CONNECTED and self.application_state is _CONNECTED:
                    message = await receive()
                    text = message.get("text")
                    if text is None:
                        text = self._data(message, "text")  # raises: disconnected, or bytes
                else:
                    text = await self._next("text")
                if not decode:
                    yield text
                    continue
                try:
                    value = _decode_json(text)
                except (msgspec.DecodeError, RecursionError):
                    await self._malformed()
                yield value
        except WebSocketDisconnect:
            pass

    async def send_text(self, data: str) -> None:
        """Send a text message."""
        # PERF: on an open connection (every echo and chat reply) the server's send, with
        # no other frame of ours.
        send = self._send if self.application_state is _CONNECTED else self._send_checked
        try:
            await send({"type": "websocket.send", "text": data})
        except OSError:
            raise self._went_away() from None

    async def send_bytes(self, data: bytes) -> None:
        """Send a bytes message."""
        await self._send_checked({"type": "websocket.send", "bytes": data})

    async def send_json(self, data: Any, mode: Literal["text", "binary"] = "text") -> None:
        """Send ``data`` encoded as JSON (msgspec), in a text or a binary message."""
        message: Message
        if mode == "text":
            message = {"type": "websocket.send", "text": _encode_json(data).decode()}
        elif mode == "binary":
            message = {"type": "websocket.send", "bytes": _encode_json(data)}
        else:
            raise ValueError(f'mode must be "text" or "binary", not {mode!r}')
        send = self._send if self.application_state is _CONNECTED else self._send_checked
        try:
            await send(message)  # PERF: as in send_text
        except OSError:
            raise self._went_away() from None

    async def _send_checked(self, message: Message) -> None:
        """Send a data message: an error before ``accept``, and as ``send`` after."""
        self._check_can_send()
        await self.send(message)

    def _went_away(self) -> WebSocketDisconnect:
        """What a send raises when the client went away (the server raised an OSError)."""
        self.client_state = self.application_state = WebSocketState.DISCONNECTED
        return WebSocketDisconnect(1006, "The client went away")

    def __plait_sender__(self) -> Send:
        """The server's ``send``, for a fan-out's data messages (``plait.channels``).

        PERF: per delivery, no frame of ours: the caller checks ``application_state`` and
        takes ``send`` when the connection is not open; the server's own errors (an
        ``OSError`` for a client that went away) reach it as they are.
        """
        self._check_can_send()
        return self._send

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
