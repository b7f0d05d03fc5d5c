"""Form bodies: urlencoded and multipart (python-multipart), files spooled to disk past a size."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header

from plait._datastructures import FormData, Headers, UploadFile, parse_qsl
from plait._exceptions import HTTPException

if TYPE_CHECKING:
    from plait._request import Request

__all__ = ["FormLimits", "parse_form"]


class FormLimits:
    """Caps on what one form may hold (Django and Starlette use 1000 fields and files)."""

    __slots__ = ("max_fields", "max_files", "max_part_size", "spool_size")

    def __init__(
        self,
        *,
        max_fields: int = 1000,
        max_files: int = 1000,
        max_part_size: int = 1024 * 1024,
        spool_size: int = 1024 * 1024,
    ) -> None:
        self.max_fields = max_fields
        self.max_files = max_files
        self.max_part_size = max_part_size
        self.spool_size = spool_size


def _bad(detail: str) -> HTTPException:
    return HTTPException(400, detail, title="Malformed form body")


async def parse_form(request: Request, limits: FormLimits) -> FormData:
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type == b"application/x-www-form-urlencoded":
        body = await request.body()
        try:
            pairs = parse_qsl(body.decode("utf-8"))
        except UnicodeDecodeError:
            raise _bad("The form body is not valid UTF-8") from None
        if len(pairs) > limits.max_fields:
            raise _bad(f"Too many form fields (more than {limits.max_fields})")
        return FormData(pairs)
    if content_type == b"multipart/form-data":
        boundary = options.get(b"boundary")
        if not boundary:
            raise _bad("The multipart body has no boundary")
        return await _parse_multipart(request.stream(), boundary, limits)
    raise HTTPException(
        415,
        "Expected application/x-www-form-urlencoded or multipart/form-data",
        title="Unsupported Media Type",
    )


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
                raise _bad(f"Too many files (more than {self.limits.max_files})")
            self.file = UploadFile(
                options[b"filename"].decode("utf-8", "replace"),
                content_type=headers.get("content-type", "application/octet-stream"),
                headers=headers,
                max_memory=self.limits.spool_size,
            )
        else:
            self.fields += 1
            if self.fields > self.limits.max_fields:
                raise _bad(f"Too many form fields (more than {self.limits.max_fields})")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.file is not None:
            self.file._write(data[start:end])
            return
        self.field_data += data[start:end]
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


async def _parse_multipart(
    stream: AsyncIterator[bytes], boundary: bytes, limits: FormLimits
) -> FormData:
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
