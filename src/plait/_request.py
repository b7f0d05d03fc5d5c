"""The HTTP request: a slotted, lazy view over the ASGI scope and receive channel."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any, NamedTuple

import msgspec

from plait._background import BackgroundTasks
from plait._bodytimeout import BodyWatch, body_watch
from plait._datastructures import (
    URL,
    FormData,
    Headers,
    QueryParams,
    State,
    header_separator,
)
from plait._exceptions import HTTPException
from plait._formparser import (
    DEFAULT_FORM_LIMITS,
    FORM_SCOPE_KEY,
    FormLimits,
    form_boundary,
    parse_multipart,
    parse_urlencoded,
)
from plait._responses import Response
from plait.types import Message, Receive, Scope, SessionProtocol

__all__ = [
    "MAX_FRACTION_FLOATS",
    "MAX_JSON_DEPTH",
    "Address",
    "ClientDisconnect",
    "Extras",
    "HTTPConnection",
    "Request",
    "decode_integral",
    "malformed_json",
    "parse_cookies",
    "too_deep",
]


class Address(NamedTuple):
    host: str
    port: int


class ClientDisconnect(Exception):
    """The client went away before the request body was read."""


async def _empty_receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def parse_cookies(header: str) -> dict[str, str]:
    """Parse a ``Cookie`` header leniently, as browsers send it (not as RFC 2109 wished)."""
    cookies: dict[str, str] = {}
    for chunk in header.split(";"):
        key, sep, value = chunk.partition("=")
        key, value = key.strip(), value.strip()
        if not sep and not key:
            continue
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if key or value:
            cookies[key] = value
    return cookies


_dict_get: Callable[[Any, str], Any] = dict.get  # PERF: RSGI's lazy scope.get() is Python
_BODY = "The request body"
_FORM_DATA = "The form data"


def _check_size(size: int, limit: int, what: str) -> None:
    """The one 413 of a body (or a form's data) past its cap."""
    if size > limit:
        raise HTTPException(413, f"{what} is larger than {limit} bytes")


class Extras:
    """What a request gathers besides its data, for after the handler: the injected
    ``Response`` whose headers, cookies and status apply to the response, the background
    tasks to run after it, and a parsed form whose files to close."""

    __slots__ = ("background", "form", "response")

    def __init__(self) -> None:
        self.background: BackgroundTasks | None = None
        self.response: Response | None = None
        self.form: FormData | None = None


class HTTPConnection:
    """What requests and WebSockets share: scope data parsed on first use, then cached."""

    __slots__ = (
        "_cookies",
        "_headers",
        "_query_params",
        "_state",
        "_url",
        "app",
        "exit_stack",
        "extras",
        "scope",
    )

    def __init__(self, scope: Scope, app: Any = None) -> None:
        self.scope = scope
        self.app: Any = app if app is not None else scope.get("app")
        """The :class:`~plait.App` serving this connection (typed ``Any``, as in Starlette: the
        request layer sits below the app's and does not import it)."""
        self._headers: Headers | None = None
        self._query_params: QueryParams | None = None
        self._cookies: dict[str, str] | None = None
        self._url: URL | None = None
        self._state: State | None = None
        self.exit_stack: contextlib.AsyncExitStack | None = None
        """Cleanup of generator dependencies, closed once the response has been sent."""
        self.extras: Extras | None = None
        """Injected response defaults, background tasks and forms to close (``None``: none:
        the pipeline has nothing to do after the handler)."""

    @property
    def path(self) -> str:
        return self.scope["path"]  # type: ignore[no-any-return]

    @property
    def path_params(self) -> dict[str, Any]:
        return self.scope.get("path_params", {})  # type: ignore[no-any-return]

    @property
    def headers(self) -> Headers:
        if self._headers is None:
            self._headers = Headers(self.scope["headers"])
        return self._headers

    @property
    def query_params(self) -> QueryParams:
        if self._query_params is None:
            self._query_params = QueryParams(self.scope.get("query_string", b""))
        return self._query_params

    def _header(self, name: str) -> str | None:
        """``self.headers.get(name)`` for a lower-case ``name``.

        # PERF: over RSGI, until something asks for the whole mapping, the value comes
        straight from granian's headers: reading a body checks Content-Type and
        Content-Length without converting every header of the request.
        """
        headers = self._headers
        if headers is not None:
            return headers._lookup().get(name)
        scope = self.scope
        if scope.__class__ is not dict:
            one = getattr(scope, "rsgi_header", None)
            if one is not None:
                return one(name)  # type: ignore[no-any-return]
        # PERF: one pass over the raw list, decoding nothing else: reading a body asks for
        # two headers, several times cheaper than building the whole mapping. ASGI servers
        # send lower-case names (the spec says so; Starlette relies on it too).
        raw_name = name.encode("latin-1")
        found: str | None = None
        for key, value in scope["headers"]:
            if key == raw_name:
                text = value.decode("latin-1")
                found = text if found is None else f"{found}{header_separator(name)}{text}"
        return found

    @property
    def cookies(self) -> dict[str, str]:
        if self._cookies is None:
            self._cookies = parse_cookies(self._header("cookie") or "")
        return self._cookies

    @property
    def url(self) -> URL:
        if self._url is None:
            self._url = URL.from_scope(self.scope)
        return self._url

    @property
    def client(self) -> Address | None:
        client = self.scope.get("client")
        return Address(client[0], client[1]) if client else None

    @property
    def state(self) -> State:
        """Per-request attributes, shared with middleware through ``scope["state"]``."""
        if self._state is None:
            self._state = State(self.scope.setdefault("state", {}))
        return self._state

    @property
    def session(self) -> SessionProtocol:
        """The session of this connection, from the sessions battery (``plait.sessions``)."""
        try:
            return self.scope["session"]  # type: ignore[no-any-return]
        except KeyError:
            raise RuntimeError(
                "request.session needs the sessions battery: add Sessions(app) "
                "(from plait.sessions) before the app starts"
            ) from None

    @property
    def user(self) -> Any:
        """The signed-in user loaded by ``plait.auth`` for this connection, or ``None``."""
        return self.scope.get("user")

    def url_for(self, name: str, /, **params: Any) -> str:
        """Absolute URL of the route called ``name``."""
        if self.app is None:
            raise RuntimeError("url_for needs the request to belong to an app")
        path = self.app.url_path_for(name, **params)
        return str(self.url.replace(path=self.scope.get("root_path", "") + path, query=""))


class Request(HTTPConnection):
    """An HTTP request. Nothing is parsed until asked for; each result is kept."""

    __slots__ = ("_body", "_form", "_json", "_receive", "_stream_consumed")

    def __init__(self, scope: Scope, receive: Receive = _empty_receive, app: Any = None) -> None:
        # PERF: HTTPConnection.__init__ inlined: one call less on every request.
        self.scope = scope
        self.app = app if app is not None else scope.get("app")
        self._headers = None
        self._query_params = None
        self._cookies = None
        self._url = None
        self._state = None
        self.exit_stack = None
        self.extras = None
        self._receive = receive
        self._body: bytes | None = None
        self._json: Any = _UNSET
        self._form: FormData | None = None
        self._stream_consumed = False

    @property
    def method(self) -> str:
        return self.scope["method"]  # type: ignore[no-any-return]

    @property
    def receive(self) -> Receive:
        return self._receive

    @property
    def max_body_size(self) -> int | None:
        """The most bytes of body this request may send (``App(max_body_size=)``)."""
        return self.app.max_body_size if self.app is not None else None

    @property
    def body_timeout(self) -> float | None:
        """Seconds the body may go without data before a 408 (``App(body_timeout=)``)."""
        return self.app.body_timeout if self.app is not None else None

    def _start_reading(self, limit: int | None, what: str) -> BodyWatch | None:
        """Claim the body for one reader; refuse a declared length over ``limit`` before
        the first ``receive()`` (with ``Expect: 100-continue``, that is what lets the client
        send the body at all). The body-timeout watch, if a timeout applies."""
        if self._stream_consumed:
            raise RuntimeError("The request body was already streamed")
        self._stream_consumed = True
        if limit is not None:
            declared = self._header("content-length")
            if declared is not None:
                if not declared.isdigit():
                    raise HTTPException(400, "Content-Length is not a number")
                if int(declared) > limit:
                    _check_size(int(declared), limit, what)
        seconds = self.body_timeout
        return body_watch() if seconds else None

    async def stream(self) -> AsyncIterator[bytes]:
        """Yield the body as it arrives, refusing it past ``app.max_body_size`` with a 413."""
        if self._body is not None:
            yield self._body
            return
        limit = self.max_body_size
        async for chunk in self._chunks(limit, _BODY, self._start_reading(limit, _BODY)):
            yield chunk

    async def _chunks(
        self, limit: int | None, what: str, watch: BodyWatch | None, message: Message | None = None
    ) -> AsyncIterator[bytes]:
        """The body's pieces from ``message`` on (else from the next one), counted against
        ``limit``, each within the timeout when ``watch`` is given."""
        received = 0
        while True:
            if message is None:
                if watch is None:
                    message = await self._receive()
                else:
                    message = await watch.receive(self._receive, self.body_timeout or 0.0)
            kind = message["type"]
            if kind == "http.request":
                chunk: bytes = message.get("body", b"")
                if chunk:
                    received += len(chunk)
                    if limit is not None:
                        _check_size(received, limit, what)
                    yield chunk
                if not message.get("more_body", False):
                    return
            elif kind == "http.disconnect":
                raise ClientDisconnect()
            message = None

    async def body(self) -> bytes:
        """The whole body as bytes (read once, then cached)."""
        if self._body is not None:
            return self._body
        limit = self.max_body_size
        watch = self._start_reading(limit, _BODY)
        # PERF: most bodies arrive in one message: no generator, no list, no helper coroutine.
        if watch is None:
            message = await self._receive()
        else:
            message = await watch.receive(self._receive, self.body_timeout or 0.0)
        if message["type"] == "http.request" and not message.get("more_body", False):
            body: bytes = message.get("body", b"")
            if limit is not None and len(body) > limit:
                _check_size(len(body), limit, _BODY)
        else:
            body = b"".join([piece async for piece in self._chunks(limit, _BODY, watch, message)])
        self._body = body
        return body

    async def json(self) -> Any:
        """The body decoded as JSON; a non-JSON Content-Type is a 415, bad JSON a 400."""
        if self._json is _UNSET:
            content_type = self._header("content-type")
            if content_type is not None and not is_json_content_type(content_type):
                raise HTTPException(415, "Expected a JSON body (Content-Type: application/json)")
            body = await self.body()
            try:
                self._json = msgspec.json.decode(body)
            except msgspec.DecodeError as exc:
                raise HTTPException(400, malformed_json(exc), title="Malformed JSON") from None
            except RecursionError:
                raise too_deep() from None
        return self._json

    async def form(self, limits: FormLimits | None = None) -> FormData:
        """The form fields and files; call ``await form.close()`` or let the request end.

        Parsed once: a middleware that parsed it first (the CSRF check) hands its result
        on, and ``limits`` (else ``App(form_limits=)``) apply while the body is read.
        """
        if self._form is None:
            form: FormData | None = _dict_get(self.scope, FORM_SCOPE_KEY)
            if form is None:
                form = await self._parse_form(limits)
                self.scope[FORM_SCOPE_KEY] = form
            self._form = form
            if self.extras is None:
                self.extras = Extras()
            self.extras.form = form  # its files are closed after the response
        return self._form

    async def _parse_form(self, limits: FormLimits | None) -> FormData:
        if limits is None:
            limits = self.app.form_limits if self.app is not None else DEFAULT_FORM_LIMITS
        boundary = form_boundary(self._header("content-type"))
        if boundary is not None:
            return await parse_multipart(self.stream(), boundary, limits)
        body = self._body
        if body is None:
            limit, what = self.max_body_size, _BODY
            if limit is None or limits.max_data_size < limit:
                limit, what = limits.max_data_size, _FORM_DATA
            watch = self._start_reading(limit, what)
            body = self._body = b"".join([c async for c in self._chunks(limit, what, watch)])
        return parse_urlencoded(body, limits)

    async def close(self) -> None:
        """Close the files of the parsed form, if any (done once the response is sent)."""
        if self._form is not None:
            await self._form.close()

    async def is_disconnected(self) -> bool:
        """Whether the client has gone (never blocks)."""
        try:
            message = await asyncio.wait_for(self._receive(), timeout=0.000_001)
        except TimeoutError:
            return False
        return bool(message.get("type") == "http.disconnect")


_UNSET: Any = object()


def malformed_json(exc: msgspec.DecodeError) -> str:
    """``JSON is malformed: …`` as msgspec says it, said once (not ``Malformed JSON: JSON is…``)."""
    message = str(exc)
    return message if message.startswith("JSON is malformed") else f"Malformed JSON: {message}"


MAX_JSON_DEPTH = 256
"""JSON nested this deep is always decoded; deeper, a document may be refused with 400
(msgspec stops where Python's recursion limit does: under 1,000 levels)."""


def too_deep() -> HTTPException:
    """The 400 for a JSON document nested too deeply to decode (no traceback, no log)."""
    return HTTPException(
        400,
        f"Malformed JSON: nested too deeply (up to {MAX_JSON_DEPTH} levels are accepted)",
        title="Malformed JSON",
    )


MAX_FRACTION_FLOATS = 10_000
"""How many floats one request's integral retry turns in Python (see :func:`decode_integral`)."""

# PERF: a C-level float hook (msgspec's own lax ``int`` decoder): ``3.0`` -> ``3`` without a
# Python call per float; a float with a fraction raises, and the Python hook takes over.
_whole = msgspec.json.Decoder(int, strict=False).decode
_whole_decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(float_hook=_whole)
_plain_decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder()


class _TooManyFloats(Exception):
    pass


class _Integral:
    """Python ``float_hook``: whole-number floats (``3.0``) become ints, and it tells; more than
    :data:`MAX_FRACTION_FLOATS` floats stop it, so its cost is bounded."""

    __slots__ = ("changed", "left")

    def __init__(self) -> None:
        self.changed = False
        self.left = MAX_FRACTION_FLOATS

    def __call__(self, text: str) -> Any:
        self.left -= 1
        if self.left < 0:
            raise _TooManyFloats
        number = float(text)
        if number.is_integer():
            self.changed = True
            return int(number)
        return number


def decode_integral(body: bytes) -> tuple[Any, bool | None]:
    """``body`` decoded as plain JSON with whole-number floats as ints (JSON Schema, and so
    OpenAPI, counts ``3.0`` as an integer), and whether there may have been any. Malformed
    JSON is a 400, as is JSON nested too deeply.

    The cost is C-speed and O(size): when every float is whole, one decode with a C float
    hook; otherwise a decode calling Python for at most :data:`MAX_FRACTION_FLOATS` floats.
    Past that, the document is decoded as it is (floats stay floats) and the second value is
    ``None``: "not converted".
    """
    try:
        try:
            # PERF: memchr scans tell whether the body holds a float at all.
            floats = b"." in body or b"e" in body or b"E" in body
            return _whole_decoder.decode(body), floats
        except msgspec.ValidationError:  # a float with a fraction, or past int64's range
            pass
        hook = _Integral()
        try:
            return msgspec.json.Decoder(float_hook=hook).decode(body), hook.changed
        except _TooManyFloats:
            return _plain_decoder.decode(body), None
    except msgspec.DecodeError as exc:
        raise HTTPException(400, malformed_json(exc), title="Malformed JSON") from None
    except RecursionError:
        raise too_deep() from None


def is_json_content_type(content_type: str) -> bool:
    """``application/json``, or any ``+json`` type such as ``application/problem+json``."""
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )
