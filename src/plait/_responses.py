"""Response classes. Each renders its body once, at construction, and is itself an ASGI app."""

from __future__ import annotations

import http.cookies
import time
from collections.abc import AsyncIterable, Iterable, Mapping
from datetime import datetime
from email.utils import format_datetime
from typing import Any, Literal
from urllib.parse import quote

import msgspec

from plait._background import BackgroundTask
from plait._concurrency import iterate_in_threadpool
from plait._datastructures import MutableHeaders
from plait._exceptions import HTTPException
from plait.types import Receive, Scope, Send

__all__ = [
    "HTML_SECURITY_HEADERS",
    "HTMLResponse",
    "JSONResponse",
    "PlainTextResponse",
    "RedirectResponse",
    "Response",
    "StreamingResponse",
    "json_encoder",
    "problem_response",
    "same_site_path",
]


def _encode_other(value: Any) -> Any:
    # Pydantic models, wherever they sit in the value, through their own serialiser (without
    # importing pydantic: the core never does).
    dump = getattr(value, "model_dump", None)
    if dump is not None:
        return dump(mode="json")
    raise TypeError(f"Objects of type {type(value).__name__!r} cannot be JSON-encoded")


json_encoder = msgspec.json.Encoder(enc_hook=_encode_other)
"""The shared msgspec JSON encoder (dataclasses, Structs, Pydantic models, datetimes, UUIDs…)."""

_CONTENT_LENGTH = b"content-length"
_CONTENT_TYPE = b"content-type"
_HTML = b"text/html"

HTML_SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)
"""What every HTML response carries unless it set the header itself (Django's
``startproject`` defaults): no framing (clickjacking), no MIME sniffing, no full URLs in
``Referer`` to other sites. ``SecurityHeadersMiddleware`` replaces these very tuples (it
recognises them by identity, so a header a handler set stays) to tune or drop them."""


class Response:
    """A complete response with a bytes body.

    ``content`` may be ``bytes`` or ``str`` (encoded with ``charset``); subclasses override
    :meth:`render` to accept other types.
    """

    media_type: str | None = None
    charset = "utf-8"

    def __init__(
        self,
        content: Any = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        self.status_code = status_code
        if media_type is not None:
            self.media_type = media_type
        self.background = background
        self.body = self.render(content)
        self.raw_headers = self._init_headers(headers)

    def render(self, content: Any) -> bytes:
        if content is None:
            return b""
        if isinstance(content, bytes | memoryview | bytearray):
            return bytes(content)
        if isinstance(content, str):
            return content.encode(self.charset)
        raise TypeError(
            f"{type(self).__name__} takes str or bytes content, not {type(content).__name__}"
        )

    def _content_type(self) -> bytes | None:
        media_type = self.media_type
        if media_type is None:
            return None
        if media_type.startswith("text/") and "charset=" not in media_type:
            media_type += "; charset=" + self.charset
        return media_type.encode("latin-1")

    def _init_headers(self, headers: Mapping[str, str] | None) -> list[tuple[bytes, bytes]]:
        raw: list[tuple[bytes, bytes]] = []
        set_length = set_type = True
        if headers:
            for key, value in headers.items():
                name = key.lower().encode("latin-1")
                if name == _CONTENT_LENGTH:
                    set_length = False
                elif name == _CONTENT_TYPE:
                    set_type = False
                raw.append((name, value.encode("latin-1")))
        body = getattr(self, "body", None)
        no_body = self.status_code < 200 or self.status_code in (204, 304)
        if set_length and body is not None and not no_body:
            raw.append((_CONTENT_LENGTH, str(len(body)).encode("latin-1")))
        content_type = self._content_type()
        if set_type and content_type is not None and not no_body:
            raw.append((_CONTENT_TYPE, content_type))
            # PERF: one prefix test for non-HTML responses; JSON never gets here on the
            # direct path at all.
            if content_type.startswith(_HTML):
                _add_html_security_headers(raw, headers)
        return raw

    @property
    def headers(self) -> MutableHeaders:
        """A mutable, case-insensitive view over the raw headers."""
        return MutableHeaders(self.raw_headers)

    def set_cookie(
        self,
        key: str,
        value: str = "",
        *,
        max_age: int | None = None,
        expires: datetime | str | int | None = None,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = True,
        samesite: Literal["lax", "strict", "none"] | None = "lax",
        partitioned: bool = False,
    ) -> None:
        """Add a ``Set-Cookie`` header. Defaults are the safe ones: HttpOnly, SameSite=Lax."""
        cookie: http.cookies.BaseCookie[str] = http.cookies.SimpleCookie()
        cookie[key] = value
        morsel = cookie[key]
        if max_age is not None:
            morsel["max-age"] = max_age
        if expires is not None:
            if isinstance(expires, datetime):
                morsel["expires"] = format_datetime(expires, usegmt=True)
            elif isinstance(expires, int):
                morsel["expires"] = time.strftime(
                    "%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + expires)
                )
            else:
                morsel["expires"] = expires
        if path is not None:
            morsel["path"] = path
        if domain is not None:
            morsel["domain"] = domain
        # Browsers drop SameSite=None and Partitioned (CHIPS) cookies that are not Secure.
        if secure or samesite == "none" or partitioned:
            morsel["secure"] = True
        if httponly:
            morsel["httponly"] = True
        if samesite is not None:
            if samesite not in ("lax", "strict", "none"):
                raise ValueError("samesite must be 'lax', 'strict' or 'none'")
            morsel["samesite"] = samesite
        header = cookie.output(header="").strip()
        if partitioned:
            # http.cookies only knows the Partitioned attribute from Python 3.14 on.
            header += "; Partitioned"
        self.raw_headers.append((b"set-cookie", header.encode("latin-1")))

    def delete_cookie(
        self,
        key: str,
        *,
        path: str = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = True,
        samesite: Literal["lax", "strict", "none"] | None = "lax",
    ) -> None:
        """Expire a cookie set with the same path and domain."""
        self.set_cookie(
            key,
            max_age=0,
            expires=0,
            path=path,
            domain=domain,
            secure=secure,
            httponly=httponly,
            samesite=samesite,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        # A HEAD answer carries the GET headers (Content-Length included) but no body.
        body = b"" if scope.get("method") == "HEAD" else self.body
        await send({"type": "http.response.body", "body": body})
        if self.background is not None:
            await self.background()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} status_code={self.status_code}>"


class PlainTextResponse(Response):
    media_type = "text/plain"


class HTMLResponse(Response):
    media_type = "text/html"


class JSONResponse(Response):
    """JSON rendered with msgspec: dicts, lists, Structs, dataclasses, datetimes, UUIDs…"""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json_encoder.encode(content)


def same_site_path(path: str) -> str:
    """``path`` made safe for a ``Location`` on this site: ``//host`` and ``/\\host`` are
    scheme-relative URLs to another host for a browser, so a leading run of slashes and
    backslashes becomes one slash (``//docs/`` -> ``/docs/``)."""
    if path[1:2] in ("/", "\\") and path[:1] in ("/", "\\"):
        return "/" + path.lstrip("/\\")
    return path


def _add_html_security_headers(
    raw: list[tuple[bytes, bytes]], given: Mapping[str, str] | None
) -> None:
    if not given:
        raw.extend(HTML_SECURITY_HEADERS)
        return
    names = {name.lower() for name in given}
    raw.extend(h for h in HTML_SECURITY_HEADERS if h[0].decode() not in names)


class RedirectResponse(Response):
    """Redirect to ``url`` (307 by default, which keeps the method and body)."""

    def __init__(
        self,
        url: str,
        status_code: int = 307,
        headers: Mapping[str, str] | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        super().__init__(b"", status_code=status_code, headers=headers, background=background)
        self.raw_headers.append(
            (b"location", quote(str(url), safe=":/%#?=@[]!$&'()*+,;").encode("latin-1"))
        )


class StreamingResponse(Response):
    """Stream a body from a sync or async iterable of ``bytes``/``str`` chunks, unbuffered."""

    def __init__(
        self,
        content: AsyncIterable[str | bytes] | Iterable[str | bytes],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        self.body_iterator: AsyncIterable[str | bytes]
        if isinstance(content, AsyncIterable):
            self.body_iterator = content
        else:
            self.body_iterator = iterate_in_threadpool(iter(content))
        self.status_code = status_code
        if media_type is not None:
            self.media_type = media_type
        self.background = background
        self.raw_headers = self._init_headers(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        if scope.get("method") != "HEAD":
            charset = self.charset
            async for chunk in self.body_iterator:
                data = chunk.encode(charset) if isinstance(chunk, str) else chunk
                await send({"type": "http.response.body", "body": data, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        if self.background is not None:
            await self.background()


_PROBLEM = b"application/problem+json"


def problem_response(exc: HTTPException, instance: str | None = None) -> Response:
    """Render an :class:`HTTPException` as an RFC 9457 ``application/problem+json`` response."""
    body = json_encoder.encode(exc.to_problem(instance))
    response = Response(body, status_code=exc.status_code, headers=exc.headers)
    response.raw_headers.append((b"content-type", _PROBLEM))
    return response
