"""granian's RSGI interface: the same compiled app, without ASGI's per-message dicts.

granian calls ``await app.__rsgi__(scope, protocol)`` with a native scope object. This module
wraps it in the ASGI-style scope that requests read (:mod:`plait._rsgiscope`: converted
lazily, key by key), runs the app's usual request pipeline, and hands a fully rendered
response straight to ``protocol.response_bytes``.
Streaming and file responses, mounted apps, user middleware (which is ASGI-only) and
WebSockets run over small ``receive``/``send`` shims that translate ASGI messages to RSGI.

What RSGI (granian 2.x) cannot carry, and so differs from ASGI servers:

- a WebSocket close code sent after ``accept`` (the client sees 1005, "no status"), and the
  code of a close the client sends (handlers get 1005);
- the subprotocol and extra headers chosen in ``websocket.accept`` (a warning is logged);
- a body on a refused WebSocket handshake (only its status is sent).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, Protocol

from plait._hosts import AllowedHosts
from plait._responses import Response
from plait._rsgiscope import HTTP_SCOPE, RSGIScope, websocket_scope
from plait.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ClientGone", "rsgi_shutdown", "rsgi_startup", "serve_rsgi"]

logger = logging.getLogger("plait.error")


class ServedApp(Protocol):
    """What RSGI serving needs of :class:`plait.App` (this layer sits below the app's)."""

    ready: bool
    hosts: AllowedHosts | None
    user_middleware: list[tuple[type, dict[str, Any]]]
    middleware_stack: ASGIApp

    def build(self) -> None: ...

    async def send_bad_host(self, scope: Scope, send: Send) -> None: ...

    async def startup(self) -> None: ...

    async def shutdown(self) -> None: ...

    def __call__(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        respond: Any = None,  # a Responder (plait._pipeline, the layer above): the exchange
    ) -> Awaitable[None]: ...


class ClientGone(OSError):
    """The client closed the connection while the app was still sending (ASGI asks servers
    to raise an ``OSError`` for this)."""


# ------------------------------------------------------------------------------------ HTTP


_DONE: Any = object()
_WHOLE_BODY = 64 * 1024
"""The largest declared body read from granian in one piece; longer ones are streamed."""
_WHOLE_BODY_DIGITS = len(str(_WHOLE_BODY))
_NO_HEADERS: list[tuple[str, str]] = []
_header_cache: dict[tuple[bytes, bytes], tuple[str, str]] = {}


def _str_headers(raw: Any) -> list[tuple[str, str]]:
    """ASGI's byte headers as the ``str`` pairs granian takes.

    # PERF: responses repeat the same few headers (content types, common lengths); a bounded
    cache of converted pairs is several times faster than decoding each one again.
    """
    cache = _header_cache
    converted = []
    for pair in raw:
        text = cache.get(pair)
        if text is None:
            text = (pair[0].decode("latin-1"), pair[1].decode("latin-1"))
            if len(cache) < 4096:
                cache[pair] = text
        converted.append(text)
    return converted


class _HTTPExchange:
    """One request over RSGI, seen by the app as ASGI ``receive`` and ``send``.

    ``receive`` gives the body in one message when its declared length is at most 64 KiB,
    chunk by chunk otherwise (so ``max_body_size`` also stops a chunked upload early), then
    ``http.disconnect`` once the client has gone. ``send`` makes one ``response_bytes`` of a
    whole body, a ``response_stream`` of ``more_body`` chunks, a ``response_file`` of
    ``pathsend``.
    """

    __slots__ = ("chunks", "headers", "protocol", "read", "rsgi", "scope", "status", "stream")

    def __init__(self, protocol: Any, rsgi: Any, scope: Scope) -> None:
        self.protocol = protocol
        self.rsgi = rsgi
        self.scope = scope
        self.status: int | None = None
        self.stream: Any = None
        self.read = False
        self.chunks: Any = None
        self.headers = _NO_HEADERS  # replaced (never changed) by http.response.start

    async def receive(self) -> Message:
        if self.read:
            await self.protocol.client_disconnect()
            return {"type": "http.disconnect"}
        chunks = self.chunks
        if chunks is None:
            declared = self.rsgi.headers.get("content-length")
            # PERF: granian collects a body it is asked for whole in one growing buffer: the
            # fastest way for small bodies, but past ~64 KiB its page faults cost more than
            # taking the chunks as they arrive (a 1 MiB upload: 1.5k against 2.1k req/s).
            if (
                declared is not None
                and len(declared) <= _WHOLE_BODY_DIGITS
                and declared.isdigit()
                and int(declared) <= _WHOLE_BODY
            ):
                self.read = True
                return {"type": "http.request", "body": await self.protocol(), "more_body": False}
            chunks = self.chunks = self.protocol.__aiter__()
        while True:
            try:
                chunk = await chunks.__anext__()
            except StopAsyncIteration:
                self.read = True
                return {"type": "http.request", "body": b"", "more_body": False}
            if chunk:
                return {"type": "http.request", "body": chunk, "more_body": True}

    def respond(self, response: Response) -> Awaitable[None] | None:
        """Send a response plait built; what is left to await, if anything.

        # PERF: a Response whose __call__ is the base one only ever sends its ready body:
        hand that to granian directly, without ASGI messages, and without a coroutine when
        there is no background task to run after it.
        """
        if type(response).__call__ is _BASE_CALL:
            self.stream = _DONE
            self.protocol.response_bytes(
                response.status_code,
                _str_headers(response.raw_headers),
                b"" if self.scope["method"] == "HEAD" else response.body,
            )
            return response.background() if response.background is not None else None
        return response(self.scope, self.receive, self.send)

    def write(self, start: Message, body: bytes) -> None:
        """Send a whole response given as ASGI's start message and its body, in one call."""
        self.stream = _DONE
        self.protocol.response_bytes(start["status"], _str_headers(start["headers"]), body)

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            if self.status is not None:
                raise RuntimeError("The app sent http.response.start twice")
            self.status = message["status"]
            self.headers = _str_headers(message.get("headers") or ())
        elif kind == "http.response.body":
            await self._body(message.get("body", b""), message.get("more_body", False))
        elif kind == "http.response.pathsend":
            self._check_open()
            self.protocol.response_file(self.status, self.headers, str(message["path"]))
            self.stream = _DONE

    def _check_open(self) -> None:
        if self.status is None:
            raise RuntimeError("The app sent a body before http.response.start")
        if self.stream is _DONE:
            raise RuntimeError("The app sent a body after the response was complete")

    async def _body(self, body: bytes, more_body: bool) -> None:
        stream = self.stream
        if stream is None or stream is _DONE:
            self._check_open()
            if not more_body:
                self.protocol.response_bytes(self.status, self.headers, body)
                self.stream = _DONE
                return
            stream = self.stream = self.protocol.response_stream(self.status, self.headers)
        if body:
            try:
                await stream.send_bytes(body)
            except RuntimeError:  # granian's RSGIProtocolClosed: the client went away
                self.stream = _DONE
                raise ClientGone("The client closed the connection") from None
        if not more_body:
            self.stream = _DONE  # dropping the transport ends the chunked body


_BASE_CALL = Response.__call__


# ------------------------------------------------------------------------------ WebSocket

_CONNECTING, _CONNECTED, _ACCEPTED, _CLOSED = range(4)
_NO_CODE = 1005  # RSGI does not tell the close code the client sent


class _WebSocketChannel:
    """ASGI WebSocket ``receive``/``send`` over the RSGI protocol and its transport."""

    __slots__ = ("_protocol", "_state", "_transport", "_warned")

    def __init__(self, protocol: Any) -> None:
        self._protocol = protocol
        self._state = _CONNECTING
        self._transport: Any = None
        self._warned = False

    async def receive(self) -> Message:
        state = self._state
        if state == _CONNECTING:
            self._state = _CONNECTED
            return {"type": "websocket.connect"}
        if state == _CONNECTED:
            raise RuntimeError("receive() before the WebSocket was accepted")
        if state == _CLOSED:
            return {"type": "websocket.disconnect", "code": _NO_CODE}
        try:
            message = await self._transport.receive()
        except RuntimeError:  # granian's RSGIProtocolClosed/RSGIProtocolError
            return self._gone(1006)
        kind = message.kind
        if kind == 2:
            return {"type": "websocket.receive", "text": message.data}
        if kind == 1:
            return {"type": "websocket.receive", "bytes": message.data}
        return self._gone(_NO_CODE)

    def _gone(self, code: int) -> Message:
        self._state = _CLOSED
        self._transport = None
        return {"type": "websocket.disconnect", "code": code}

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "websocket.send":
            await self._send_data(message)
        elif kind == "websocket.accept":
            if self._state != _CONNECTED:
                raise RuntimeError("websocket.accept sent twice, or before websocket.connect")
            if (message.get("subprotocol") or message.get("headers")) and not self._warned:
                self._warned = True
                logger.warning(
                    "granian's RSGI interface cannot send the subprotocol or headers chosen "
                    "in accept(); serve over ASGI (granian --interface asgi) if clients need them"
                )
            try:
                self._transport = await self._protocol.accept()
            except RuntimeError:  # the client left during the handshake
                self._gone(1006)
                raise ClientGone("The client left during the WebSocket handshake") from None
            self._state = _ACCEPTED
        elif kind == "websocket.close":
            self._close(message.get("code", 1000))
        elif kind == "websocket.http.response.start":
            status = message.get("status", 403)
            self._close(status if isinstance(status, int) and 400 <= status <= 599 else 403)

    async def _send_data(self, message: Message) -> None:
        transport = self._transport
        if transport is None:
            raise ClientGone("The WebSocket is not open")
        text = message.get("text")
        try:
            if text is not None:
                await transport.send_str(text)
            else:
                await transport.send_bytes(message.get("bytes") or b"")
        except RuntimeError:
            self._gone(1006)
            raise ClientGone("The client closed the WebSocket") from None

    def _close(self, code: int) -> None:
        if self._state == _CLOSED:
            return
        # Before accept, granian answers the handshake with this number as the HTTP status:
        # a WebSocket close code there would be an invalid status (and crash the worker).
        self._protocol.close(code if self._state == _ACCEPTED else 403)
        self._state = _CLOSED
        self._transport = None


async def _serve_websocket(app: ServedApp, rsgi: Any, protocol: Any) -> None:
    scope = websocket_scope(rsgi)
    channel = _WebSocketChannel(protocol)
    if app.user_middleware:
        scope.materialize()
    await app.middleware_stack(scope, channel.receive, channel.send)


async def _refuse_host(app: ServedApp, rsgi: Any, protocol: Any) -> None:
    """A 400 (a close, for a WebSocket) for a host the app does not serve."""
    if rsgi.proto == "ws":
        await _WebSocketChannel(protocol).send({"type": "websocket.close", "code": 1008})
        return
    if rsgi.proto == "http":
        await app.send_bad_host({"type": "http"}, _RefusalSender(protocol).send)


class _RefusalSender:
    __slots__ = ("headers", "protocol", "status")

    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol
        self.status = 400
        self.headers: list[tuple[str, str]] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = _str_headers(message.get("headers") or ())
        else:
            self.protocol.response_bytes(self.status, self.headers, message.get("body", b""))


# ----------------------------------------------------------------------------- entry points


async def serve_rsgi(app: ServedApp, scope: Any, protocol: Any) -> None:
    """``App.__rsgi__``: serve one HTTP request or WebSocket connection from granian."""
    if not app.ready:
        app.build()
    hosts = app.hosts
    if hosts is not None:
        host = scope.headers.get("host")
        # PERF: a host allowed before is one set lookup, without a method call.
        if host is not None and host not in hosts.seen_text and not hosts.allows_text(host):
            await _refuse_host(app, scope, protocol)
            return
    if scope.proto != "http":
        if scope.proto == "ws":
            await _serve_websocket(app, scope, protocol)
        return
    # PERF: HTTP is served inline (no extra coroutine), over a scope converted lazily.
    # PERF: a copy of the fixed keys, then two stores, is cheaper than a keyword call.
    asgi_scope = RSGIScope(HTTP_SCOPE)
    asgi_scope["method"] = scope.method
    asgi_scope["path"] = scope.path
    asgi_scope.rsgi = scope
    exchange = _HTTPExchange(protocol, scope, asgi_scope)
    try:
        if app.user_middleware:
            await app.middleware_stack(asgi_scope.materialize(), exchange.receive, exchange.send)
        else:
            await app(asgi_scope, exchange.receive, exchange.send, exchange)
    except ClientGone:
        return


def _run(loop: asyncio.AbstractEventLoop, coro: Any, what: str) -> None:
    if loop.is_running():
        # granian's embedded server calls the hooks from inside its running loop.
        task = loop.create_task(coro)
        _background.add(task)
        task.add_done_callback(lambda done: _finished(done, what))
        return
    try:
        loop.run_until_complete(coro)
    except BaseException as exc:
        # granian prints the traceback as the worker exits; the server then stops.
        logger.error("Application %s failed: %r", what, exc)
        raise


_background: set[asyncio.Task[None]] = set()


def _finished(task: asyncio.Task[None], what: str) -> None:
    _background.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.error("Application %s failed", what, exc_info=task.exception())


def rsgi_startup(app: ServedApp, loop: asyncio.AbstractEventLoop) -> None:
    """``App.__rsgi_init__``: run the start-up hooks and ``lifespan`` on granian's loop."""
    _run(loop, app.startup(), "start-up")


def rsgi_shutdown(app: ServedApp, loop: asyncio.AbstractEventLoop) -> None:
    """``App.__rsgi_del__``: run the shutdown hooks once granian stops serving."""
    _run(loop, app.shutdown(), "shutdown")
