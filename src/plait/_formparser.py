"""Form bodies: urlencoded and multipart (python-multipart), parsed within limits.

IO-free apart from reading the chunks it is given: :class:`~plait.Request` reads the body
(with its size cap and timeout) and hands it here. The limits hold *while* parsing: an
urlencoded body's fields are counted at C speed before any is decoded, and a multipart
body's parts are counted, and its non-file data summed, as they stream by.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header

from plait._datastructures import FormData, Headers, UploadFile, parse_qsl
from plait._exceptions import HTTPException

__all__ = [
    "DEFAULT_FORM_LIMITS",
    "FORM_SCOPE_KEY",
    "FormLimits",
    "form_boundary",
    "parse_multipart",
    "parse_urlencoded",
]

FORM_SCOPE_KEY = "plait.form"
"""The scope key where a middleware that parsed the form (the CSRF check) leaves it, so the
handler's ``request.form()`` does not parse the body a second time."""


@dataclasses.dataclass(slots=True, kw_only=True, eq=False)
class FormLimits:
    """Caps on what one form may hold, checked while it is parsed (Django's defaults).

    - ``max_fields``: fields (Django's ``DATA_UPLOAD_MAX_NUMBER_FIELDS``, 1000);
    - ``max_files``: uploaded files (1000);
    - ``max_data_size``: bytes of form data that is not a file — a whole urlencoded body,
      or all of a multipart body's fields together (Django's
      ``DATA_UPLOAD_MAX_MEMORY_SIZE``, 2.5 MB). Files count only against the app's
      ``max_body_size``;
    - ``max_part_size``: bytes in any one multipart field (1 MB);
    - ``spool_size``: bytes of an upload kept in memory before it moves to a temporary file.
    """

    max_fields: int = 1000
    max_files: int = 1000
    max_data_size: int = 2_621_440
    max_part_size: int = 1024 * 1024
    spool_size: int = 1024 * 1024


DEFAULT_FORM_LIMITS = FormLimits()


def _bad(detail: str) -> HTTPException:
    return HTTPException(400, detail, title="Malformed form body")


def _too_many_fields(limits: FormLimits) -> HTTPException:
    return HTTPException(
        400, f"Too many form fields (more than {limits.max_fields})", title="Too many form fields"
    )


def _too_much_data(limits: FormLimits) -> HTTPException:
    return HTTPException(413, f"The form data is larger than {limits.max_data_size} bytes")


def form_boundary(content_type: str | None) -> bytes | None:
    """``None`` for an urlencoded form, the boundary of a multipart one; 415 otherwise."""
    media, options = parse_options_header(content_type or "")
    if media == b"application/x-www-form-urlencoded":
        return None
    if media == b"multipart/form-data":
        boundary = options.get(b"boundary")
        if not boundary:
            raise _bad("The multipart body has no boundary")
        return boundary
    raise HTTPException(
        415,
        "Expected application/x-www-form-urlencoded or multipart/form-data",
        title="Unsupported Media Type",
    )


def parse_urlencoded(body: bytes, limits: FormLimits) -> FormData:
    """The fields of an urlencoded body, within ``limits``."""
    if len(body) > limits.max_data_size:
        raise _too_much_data(limits)
    # Counted as Django counts them (every "&"-separated part), in C, before any is decoded.
    if body.count(b"&") >= limits.max_fields:
        raise _too_many_fields(limits)
    try:
        return FormData(parse_qsl(body.decode("utf-8")))
    except UnicodeDecodeError:
        raise _bad("The form body is not valid UTF-8") from None


class _MultipartState:
    """Collects parts as python-multipart's callbacks report them."""

    def __init__(self, limits: FormLimits) -> None:
        self.limits = limits
        self.items: list[tuple[str, str | UploadFile]] = []
        self.header_field = b""
        self.header_value = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.field_data = bytearray()
        self.file: UploadFile | None = None
        self.name = ""
        self.fields = 0
        self.files = 0
        self.data_size = 0

    def on_part_begin(self) -> None:
        self.headers = []
        self.field_data = bytearray()
        self.file = None

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers.append((self.header_field.lower(), self.header_value))
        self.header_field = b""
        self.header_value = b""

    def on_headers_finished(self) -> None:
        headers = Headers(self.headers)
        _, options = parse_options_header(headers.get("content-disposition", ""))
        if b"name" not in options:
            raise _bad("A multipart part has no name in its Content-Disposition")
        self.name = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options:
            self.files += 1
            if self.files > self.limits.max_files:
                raise HTTPException(
                    400,
                    f"Too many files (more than {self.limits.max_files})",
                    title="Too many files",
                )
            self.file = UploadFile(
                options[b"filename"].decode("utf-8", "replace"),
                content_type=headers.get("content-type", "application/octet-stream"),
                headers=headers,
                max_memory=self.limits.spool_size,
            )
        else:
            self.fields += 1
            if self.fields > self.limits.max_fields:
                raise _too_many_fields(self.limits)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.file is not None:
            self.file._write(data[start:end])
            return
        self.field_data += data[start:end]
        self.data_size += end - start
        if self.data_size > self.limits.max_data_size:
            raise _too_much_data(self.limits)
        if len(self.field_data) > self.limits.max_part_size:
            raise HTTPException(
                413, f"A form field is larger than {self.limits.max_part_size} bytes"
            )

    async def discard(self) -> None:
        """Close every file received so far, the one being written included."""
        await FormData(self.items).close()
        if self.file is not None:
            await self.file.close()

    def on_part_end(self) -> None:
        if self.file is not None:
            self.file.file.seek(0)
            self.items.append((self.name, self.file))
        else:
            try:
                self.items.append((self.name, self.field_data.decode("utf-8")))
            except UnicodeDecodeError:
                raise _bad(f"Form field {self.name!r} is not valid UTF-8") from None


async def parse_multipart(
    stream: AsyncIterator[bytes], boundary: bytes, limits: FormLimits
) -> FormData:
    """The fields and files of a multipart body read from ``stream``, within ``limits``.

    Files are spooled to disk past ``limits.spool_size``; on any error every file received
    so far is closed.
    """
    state = _MultipartState(limits)
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": state.on_part_begin,
            "on_part_data": state.on_part_data,
            "on_part_end": state.on_part_end,
            "on_header_field": state.on_header_field,
            "on_header_value": state.on_header_value,
            "on_header_end": state.on_header_end,
            "on_headers_finished": state.on_headers_finished,
        },
    )
    try:
        async for chunk in stream:
            parser.write(chunk)
        parser.finalize()
        if parser.state != MultipartState.END:
            raise _bad("The multipart body ended before its closing boundary")
    except FormParserError as exc:
        await state.discard()
        raise _bad(f"Malformed multipart body: {exc}") from None
    except BaseException:
        # 4xx from a limit, a client that went away, a cancelled task: no file may stay open.
        await state.discard()
        raise
    return FormData(state.items)
