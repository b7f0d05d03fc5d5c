"""Graceful shutdown: on SIGTERM, open WebSockets are closed with 1001 before the server stops.

Servers stop WebSockets their own way when told to stop: granian drops the connection, uvicorn
closes it with 1012, and both do it before the app hears of the shutdown. A browser should
instead learn that this server is *going away* (1001) and reconnect, through the balancer, to
another node. So at start-up, in the server's worker, plait puts itself in front of the
server's SIGTERM handler: the signal first closes every open WebSocket with 1001 and waits for
the clients' answers (bounded by a timeout), then hands over to the server, which drains
in-flight HTTP requests and stops as usual. More SIGTERMs while the WebSockets close (granian's
main process passes one on to its workers; systemd signals the whole group) wait for the
closing; once it is done, a SIGTERM goes straight to the server.

Only public APIs: a handler the server registered on the event loop (granian, on uvloop or
asyncio) can be replaced but not read back, so plait hands over by raising SIGINT, which
granian handles with the same function; a ``signal.signal`` handler (uvicorn) is called.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable
from typing import Any

from plait._websockets import WebSocket, WebSocketState

__all__ = ["GOING_AWAY", "OpenWebSockets", "install_quietly"]

GOING_AWAY = 1001

logger = logging.getLogger("plait.shutdown")


class OpenWebSockets:
    """The app's WebSockets being served, closed with 1001 when the server is told to stop."""

    __slots__ = ("_closing", "_gone", "sockets", "timeout")

    def __init__(self, timeout: float = 5.0) -> None:
        self.sockets: set[WebSocket] = set()
        self.timeout = timeout
        self._closing: asyncio.Task[None] | None = None
        self._gone: asyncio.Event | None = None  # set when the last open WebSocket ends

    def discard(self, websocket: WebSocket) -> None:
        """``websocket``'s handler has ended."""
        self.sockets.discard(websocket)
        if self._gone is not None and not self.sockets:
            self._gone.set()

    async def close_all(self, reason: str = "Server shutting down") -> None:
        """Close every open WebSocket with 1001, all at once, and wait until their handlers
        have ended (the clients answered the close), all within ``timeout``.

        Waiting for the answers matters: the server stops its connections as soon as it is
        handed the signal, and a close frame still on its way, or a client's answer left
        unread (the kernel then resets the connection), would cost the client its 1001.
        """
        self._gone = asyncio.Event()
        closing = [ws for ws in self.sockets if ws.application_state is WebSocketState.CONNECTED]
        logger.info("Closing %d WebSocket(s) with 1001 before stopping", len(closing))
        closes = [ws.close(GOING_AWAY, reason) for ws in closing]
        try:
            async with asyncio.timeout(self.timeout):
                await asyncio.gather(*closes, return_exceptions=True)
                if self.sockets:
                    await self._gone.wait()
        except TimeoutError:
            logger.warning(
                "%d WebSocket(s) still open %g s after the 1001 close; stopping anyway",
                len(self.sockets),
                self.timeout,
            )

    def install(self) -> bool:
        """Run :meth:`close_all` before the server's own SIGTERM handler (from the worker's
        event loop, at start-up). Returns ``False`` where there is nothing to put itself in
        front of: not the main thread (a test client), or no handler the server installed."""
        if threading.current_thread() is not threading.main_thread():
            return False
        loop = asyncio.get_running_loop()
        if loop.remove_signal_handler(signal.SIGTERM):
            # granian registers one handler for SIGINT and SIGTERM with loop.add_signal_handler,
            # on asyncio's loop or uvloop's; neither can give it back. So SIGTERM now comes
            # here, and once the WebSockets are closed the worker raises SIGINT, which granian's
            # handler takes as it would have taken the SIGTERM: a graceful stop.
            loop.add_signal_handler(signal.SIGTERM, self._terminate, _raise_sigint)
            return True
        previous = signal.getsignal(signal.SIGTERM)
        if callable(previous):  # uvicorn: signal.signal(SIGTERM, server.handle_exit)

            def handler(signum: int, frame: Any) -> None:
                if loop.is_closed():  # the app's loop is gone: nothing left to close
                    previous(signum, frame)
                    return
                loop.call_soon_threadsafe(self._terminate, lambda: previous(signum, frame))

            signal.signal(signal.SIGTERM, handler)
            return True
        return False

    def _terminate(self, resume: Callable[[], Any]) -> None:
        if self._closing is not None and not self._closing.done():
            return  # the closing task resumes the server when it is done
        if self._closing is not None or not self.sockets:
            resume()
            return

        async def close_then_resume() -> None:
            try:
                await self.close_all()
            finally:
                resume()

        self._closing = asyncio.get_running_loop().create_task(close_then_resume())


def _raise_sigint() -> None:
    os.kill(os.getpid(), signal.SIGINT)


def install_quietly(sockets: OpenWebSockets) -> None:
    """:meth:`OpenWebSockets.install`, where signals can be handled at all."""
    with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
        sockets.install()
