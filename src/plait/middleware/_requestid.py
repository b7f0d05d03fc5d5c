"""Give every request an ID, kept in ``scope["state"]`` and echoed in a response header."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from plait.middleware._headers import get_header, mutable_response_headers, response_header_names
from plait.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RequestIDMiddleware"]

# What an incoming ID may look like: short, and nothing that could forge log lines or
# headers (no spaces, quotes, control characters).
_SAFE_ID = re.compile(rb"[A-Za-z0-9._~:/+=-]{1,200}")
_TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")  # RFC 9110 field-name characters


def uuid4_hex() -> str:
    """The default generator: a random UUID as 32 hex digits."""
    return uuid.uuid4().hex


class RequestIDMiddleware:
    """Tag each HTTP request with an ID for logs and tracing.

    The ID is stored as ``scope["state"]["request_id"]`` (a ``str``) and sent back in
    the ``header_name`` response header (unless the app set that header itself). An
    incoming ID in the same header is reused when ``trust_incoming`` is true and it is
    1-200 characters of ``A-Z a-z 0-9 . _ ~ : / + = -``; anything else is replaced by a
    fresh ``generator()`` value (default: ``uuid4().hex``). Turn ``trust_incoming`` off
    when clients are not trusted to choose IDs, i.e. no proxy in front sets them.

    Example::

        app.add_middleware(RequestIDMiddleware, header_name="X-Correlation-ID")
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        header_name: str = "X-Request-ID",
        trust_incoming: bool = True,
        generator: Callable[[], str] = uuid4_hex,
    ) -> None:
        if not _TOKEN.fullmatch(header_name):
            raise ValueError(f"header_name must be a valid header name, got {header_name!r}")
        self.app = app
        self.header_name = header_name.lower().encode("ascii")
        self.trust_incoming = trust_incoming
        self.generator = generator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = get_header(scope["headers"], self.header_name) if self.trust_incoming else None
        if incoming is not None and _SAFE_ID.fullmatch(incoming):
            raw_id = incoming
            request_id = incoming.decode("ascii")
        else:
            request_id = self.generator()
            raw_id = request_id.encode("latin-1")
        scope.setdefault("state", {})["request_id"] = request_id
        header = (self.header_name, raw_id)

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = mutable_response_headers(message)
                if header[0] not in response_header_names(headers):
                    headers.append(header)
            await send(message)

        await self.app(scope, receive, send_wrapper)
