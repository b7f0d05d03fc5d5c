"""What a subscriber receives: one published message, encoded once for every subscriber."""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["ChannelMessage", "encode_payload"]

_encoder = msgspec.json.Encoder()


def encode_payload(message: Any) -> bytes:
    """The wire form of ``message``: ``str``/``bytes`` as they are, anything else as JSON."""
    if isinstance(message, bytes):
        return message
    if isinstance(message, str):
        return message.encode()
    return _encoder.encode(message)


class ChannelMessage:
    """One message of a group, shared by every subscriber on this node.

    ``data`` is the payload as published (JSON for values, the UTF-8 text for strings).
    ``text`` and ``event`` (the server-sent-events frame) are built on first use and then
    reused, so a message sent to 10,000 WebSockets is decoded once, not 10,000 times.
    """

    __slots__ = ("_event", "_send_bytes", "_send_text", "_text", "data", "group")

    def __init__(self, group: str, data: bytes) -> None:
        self.group = group
        self.data = data
        self._text: str | None = None
        self._event: bytes | None = None
        self._send_text: dict[str, Any] | None = None
        self._send_bytes: dict[str, Any] | None = None

    @property
    def text(self) -> str:
        """The payload as text (what a WebSocket receives)."""
        if self._text is None:
            self._text = self.data.decode("utf-8", errors="replace")
        return self._text

    @property
    def event(self) -> bytes:
        """The payload as one server-sent event (``event: <group>`` and its ``data:`` lines)."""
        if self._event is None:
            lines = self.data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
            data = b"".join(b"data: " + line + b"\n" for line in lines)
            self._event = b"event: " + self.group.encode() + b"\n" + data + b"\n"
        return self._event

    def _websocket_send(self, mode: str) -> dict[str, Any]:
        """The ASGI ``websocket.send`` message carrying this message (``mode``: text, binary).

        PERF: built once and sent to every subscriber as it is, like the bare app's broadcast.
        """
        if mode == "text":
            if self._send_text is None:
                self._send_text = {"type": "websocket.send", "text": self.text}
            return self._send_text
        if self._send_bytes is None:
            self._send_bytes = {"type": "websocket.send", "bytes": self.data}
        return self._send_bytes

    def json(self) -> Any:
        """The payload decoded as JSON."""
        return msgspec.json.decode(self.data)

    def __repr__(self) -> str:
        return f"ChannelMessage({self.group!r}, {self.data!r})"
