"""A tiny ASGI harness for the middleware tests: build scopes, run an app, collect messages."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from plait.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "Result",
    "StreamingApp",
    "TextApp",
    "http_scope",
    "run",
    "websocket_scope",
]


def http_scope(
    *,
    method: str = "GET",
    path: str = "/",
    headers: Sequence[tuple[str, str]] = (),
    scheme: str = "http",
    query_string: bytes = b"",
) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": scheme,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query_string,
        "root_path": "",
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
    }


def websocket_scope(*, headers: Sequence[tuple[str, str]] = ()) -> Scope:
    scope = http_scope(headers=headers, scheme="ws")
    scope["type"] = "websocket"
    del scope["method"]
    return scope


@dataclass
class Result:
    messages: list[Message]
    app_called: bool
    scope_seen: Scope | None = None
    body_messages: list[Message] = field(default_factory=list)

    @property
    def start(self) -> Message:
        assert self.messages[0]["type"] == "http.response.start", self.messages
        return self.messages[0]

    @property
    def status(self) -> int:
        status: int = self.start["status"]
        return status

    @property
    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        return list(self.start.get("headers", []))

    def header(self, name: str) -> str | None:
        """The value of a response header (``None`` if absent; fails if it is repeated)."""
        wanted = name.lower().encode()
        values = [v.decode("latin-1") for k, v in self.raw_headers if k.lower() == wanted]
        assert len(values) <= 1, f"header {name} repeated: {values}"
        return values[0] if values else None

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.body_messages)


def run(app: ASGIApp, scope: Scope, inner: _Recorder | None = None) -> Result:
    """Run ``app`` on ``scope`` with an empty request body and collect what it sends."""
    messages: list[Message] = []

    async def receive() -> Message:
        if scope["type"] == "websocket":
            return {"type": "websocket.connect"}
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        messages.append(message)

    async def main() -> None:
        await app(scope, receive, send)

    asyncio.run(main())
    bodies = [m for m in messages if m["type"] == "http.response.body"]
    called = inner.called if inner is not None else False
    seen = inner.scope if inner is not None else None
    return Result(messages, called, seen, bodies)


class _Recorder:
    """Base for inner apps: remembers whether (and with which scope) it was called."""

    def __init__(self) -> None:
        self.called = False
        self.scope: Scope | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.called = True
        self.scope = scope
        await self.respond(scope, receive, send)

    async def respond(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class TextApp(_Recorder):
    """An app answering with one body chunk."""

    def __init__(
        self, body: bytes = b"hello", headers: Sequence[tuple[bytes, bytes]] = (), status: int = 200
    ) -> None:
        super().__init__()
        self.body = body
        self.headers = list(headers)
        self.status = status

    async def respond(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.accept"})
            return
        if scope["type"] != "http":
            return
        headers = [(b"content-type", b"text/plain; charset=utf-8"), *self.headers]
        if not any(k == b"content-length" for k, _ in headers):
            headers.append((b"content-length", str(len(self.body)).encode()))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


class StreamingApp(_Recorder):
    """An app answering with several body chunks (``more_body=True`` until the last)."""

    def __init__(
        self, chunks: Sequence[bytes], headers: Sequence[tuple[bytes, bytes]] = ()
    ) -> None:
        super().__init__()
        self.chunks = list(chunks)
        self.headers = list(headers) or [(b"content-type", b"text/plain")]

    async def respond(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.headers})
        for chunk in self.chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
