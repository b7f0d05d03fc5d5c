"""uvicorn's HTTP protocol with a header read timeout, which uvicorn itself lacks.

A client that opens a connection and sends its request line and headers slowly (or never)
would hold it forever; granian closes such connections after ``header_read_timeout``. This
protocol does the same on uvicorn: from the connection (or the end of the previous response)
to the end of the headers, it allows ``PLAIT_HEADER_TIMEOUT`` seconds, then closes.
``plait run --server uvicorn`` passes it as uvicorn's ``http`` (by import string, so that
reload and worker processes find it too).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["HEADER_TIMEOUT_ENV", "HeaderTimeoutProtocol"]

HEADER_TIMEOUT_ENV = "PLAIT_HEADER_TIMEOUT"


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` that closes a connection whose headers take too long."""

    header_timeout = float(os.environ.get(HEADER_TIMEOUT_ENV) or 10)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._arm_header_timer()

    def _arm_header_timer(self) -> None:
        if self._header_timer is None and self.header_timeout > 0:
            self._header_timer = self.loop.call_later(self.header_timeout, self._headers_late)

    def _headers_late(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._disarm_header_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Any) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)
