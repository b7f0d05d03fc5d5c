"""Small helpers for raw ASGI header lists shared by the built-in middleware.

ASGI headers are ``list[tuple[bytes, bytes]]``. Servers lower-case request header
names; response header names are lower-cased here before comparing, because an
application is not strictly required to send them lower-case.
"""

from __future__ import annotations

from collections.abc import Iterable

from plait.types import Message, Send

__all__ = [
    "RawHeaders",
    "add_vary",
    "encode_header_value",
    "get_header",
    "mutable_response_headers",
    "response_header_names",
    "send_plain_text",
]

RawHeaders = list[tuple[bytes, bytes]]


def get_header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    """Return the first value of request header ``name`` (lower-case), or ``None``."""
    for key, value in headers:
        if key == name:
            return value
    return None


def response_header_names(headers: Iterable[tuple[bytes, bytes]]) -> set[bytes]:
    """Return the lower-cased names of the headers a response already carries."""
    return {key.lower() for key, _ in headers}


def mutable_response_headers(message: Message) -> RawHeaders:
    """Return the ``http.response.start`` header list, made a ``list`` in place if needed."""
    headers = message.get("headers")
    if type(headers) is not list:
        headers = list(headers) if headers is not None else []
        message["headers"] = headers
    return headers


def add_vary(headers: RawHeaders, token: bytes) -> None:
    """Merge ``token`` into the response's ``Vary`` header, adding one if absent."""
    wanted = token.lower()
    for index, (key, value) in enumerate(headers):
        if key.lower() == b"vary":
            tokens = {part.strip().lower() for part in value.split(b",")}
            if wanted not in tokens and b"*" not in tokens:
                headers[index] = (key, value + b", " + token)
            return
    headers.append((b"vary", token))


def encode_header_value(value: str, option: str) -> bytes:
    """Encode a configured header value, rejecting what could split or break a header."""
    if not value or "\r" in value or "\n" in value or "\x00" in value:
        raise ValueError(f"{option} must be a non-empty single-line header value, got {value!r}")
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"{option} must be latin-1 encodable, got {value!r}") from None


async def send_plain_text(
    send: Send, status: int, body: bytes, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    """Send a complete ``text/plain`` response (used for 400s and preflight answers)."""
    raw: RawHeaders = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode("latin-1")),
    ]
    raw.extend(headers)
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
