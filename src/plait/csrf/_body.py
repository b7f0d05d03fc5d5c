"""Finding the ``csrf_token`` field of a form body as it arrives, keeping what was read.

The middleware reads body messages only until the field has gone by (a page's
``csrf_input()`` usually opens the form, so that is the first chunk), keeps those messages
unchanged, and replays them to the app before handing it the rest of the stream. Only a form
whose token comes after a large file is buffered whole, up to the size cap.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote_plus

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from plait.types import Message, Receive

__all__ = ["BodyTooLarge", "FormTokenReader", "replay"]

# A token is 64 characters: a longer field value is not one (and is not kept whole).
_MAX_VALUE = 1024


class BodyTooLarge(Exception):
    """The body went past the cap before the token was found."""


class _Urlencoded:
    def __init__(self, field: str) -> None:
        self.field = field
        # The longest a name can be and still be the field (each byte percent-encoded).
        self.max_name = max(_MAX_VALUE, 3 * len(field.encode()))
        self.tail = b""  # an unfinished name=value pair
        self.skipping = False  # inside another field's value: drop bytes up to the next "&"

    def feed(self, chunk: bytes, final: bool) -> str | None:
        if self.skipping:
            amp = chunk.find(b"&")
            if amp < 0:
                return None
            chunk, self.skipping = chunk[amp + 1 :], False
        data = self.tail + chunk
        end = len(data) if final else data.rfind(b"&")
        self.tail = b"" if final else data[end + 1 :]
        for pair in data[: max(end, 0)].split(b"&"):
            token = self._value(pair)
            if token is not None:
                return token
        name, equals, value = self.tail.partition(b"=")
        if equals and unquote_plus(name.decode("latin-1")) != self.field:
            # PERF: another field's long value is not kept or scanned again chunk after chunk.
            self.tail, self.skipping = b"", True
        elif len(value) > _MAX_VALUE:
            return self._value(self.tail)  # too long to be a token: refused as incorrect
        elif not equals and len(name) > self.max_name:
            # A name too long to be the field's: skipped, not kept and joined to every chunk
            # (that made a slowly sent endless name cost quadratic time).
            self.tail, self.skipping = b"", True
        return None

    def _value(self, pair: bytes) -> str | None:
        name, _, value = pair.partition(b"=")
        if unquote_plus(name.decode("latin-1")) == self.field:
            return unquote_plus(value[:_MAX_VALUE].decode("latin-1"))
        return None


class _Multipart:
    def __init__(self, field: str, boundary: bytes) -> None:
        self.field = field.encode("latin-1")
        self.header_field = b""
        self.header_value = b""
        self.in_field = False
        self.value = b""
        self.found: str | None = None
        callbacks: dict[str, Callable[..., None]] = {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }
        self.parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]

    def _part_begin(self) -> None:
        self.in_field = False
        self.value = b""

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def _header_end(self) -> None:
        if self.header_field.lower() == b"content-disposition":
            _, options = parse_options_header(self.header_value)
            self.in_field = options.get(b"name") == self.field and b"filename" not in options
        self.header_field = self.header_value = b""

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self.in_field and len(self.value) <= _MAX_VALUE:
            self.value += data[start:end]

    def _part_end(self) -> None:
        if self.in_field and self.found is None:
            self.found = self.value[:_MAX_VALUE].decode("latin-1")

    def feed(self, chunk: bytes, final: bool) -> str | None:
        self.parser.write(chunk)
        if final:
            self.parser.finalize()
        return self.found


class FormTokenReader:
    """Reads a form body from ``receive`` until the CSRF field is found (or the body ends)."""

    def __init__(self, content_type: bytes, field: str, limit: int | None) -> None:
        media, options = parse_options_header(content_type)
        self.scanner: _Urlencoded | _Multipart | None = None
        if media == b"application/x-www-form-urlencoded":
            self.scanner = _Urlencoded(field)
        elif media == b"multipart/form-data" and options.get(b"boundary"):
            self.scanner = _Multipart(field, options[b"boundary"])
        self.limit = limit
        self.messages: list[Message] = []
        """Every message taken from ``receive``, to be replayed to the app unchanged."""

    async def read(self, receive: Receive) -> str | None:
        """The field's value, or ``None`` when the body (or the connection) ended first."""
        scanner = self.scanner
        if scanner is None:
            return None
        received = 0
        while True:
            message = await receive()
            self.messages.append(message)
            if message["type"] != "http.request":
                return None
            chunk: bytes = message.get("body", b"")
            received += len(chunk)
            if self.limit is not None and received > self.limit:
                raise BodyTooLarge
            more = bool(message.get("more_body", False))
            try:
                token = scanner.feed(chunk, final=not more)
            except (FormParserError, ValueError):
                return None  # malformed: no token; the request is refused anyway
            if token is not None or not more:
                return token


def replay(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` giving ``messages`` first, then reading on from ``receive``."""
    pending = list(messages)

    async def replaying() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replaying
