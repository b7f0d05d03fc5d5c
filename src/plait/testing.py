"""Test clients that drive an app in-process, the way a user's HTTP client would.

``TestClient`` is synchronous (an ``httpx.Client``) and runs the app on an event loop in a
background thread; ``AsyncTestClient`` is an ``httpx.AsyncClient`` for async tests. Both run
the app's lifespan (start-up and shutdown hooks) when used as context managers::

    with TestClient(app) as client:
        assert client.get("/").text == "Hello, World!"
        with client.websocket_connect("/ws") as ws:
            ws.send_text("hi")
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
from collections.abc import Awaitable, Coroutine, Mapping
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import unquote, urljoin, urlsplit

try:
    import httpx
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("plait.testing needs httpx: pip install 'plait[testing]'") from exc


from plait._testwebsocket import WebSocketDenied, WebSocketTestSession
from plait.types import ASGIApp, Message, Scope

__all__ = [
    "AsyncTestClient",
    "TestClient",
    "WebSocketDenied",
    "WebSocketTestSession",
]

T = TypeVar("T")
_CHUNK = 64 * 1024
_CSRF_COOKIE = "csrftoken"
"""The cookie ``post_form`` reads the CSRF token from (plait.csrf's default name)."""
_CSRF_FIELD = "csrf_token"
"""The form field ``post_form`` puts the token in (plait.csrf's)."""


def _csrf_secret(cookies: httpx.Cookies, name: str) -> str | None:
    return next((cookie.value for cookie in cookies.jar if cookie.name == name), None)


def _with_token(
    cookies: httpx.Cookies, data: Mapping[str, Any] | None, name: str
) -> dict[str, Any]:
    """``data`` plus the CSRF cookie's secret as the token (plait.csrf accepts the bare
    secret, as Django does), unless the test set a token itself."""
    form = dict(data or {})
    secret = _csrf_secret(cookies, name)
    if secret is not None:
        form.setdefault(_CSRF_FIELD, secret)
    return form


def _build_scope(request: httpx.Request, root_path: str) -> Scope:
    url = request.url
    scheme = url.scheme
    default = 443 if scheme in ("https", "wss") else 80
    headers = [(k.lower(), v) for k, v in request.headers.raw]
    if not any(k == b"host" for k, _ in headers):
        headers.insert(0, (b"host", url.netloc))
    # httpx's ``url.path`` is already decoded: decode the raw path once, as a server does.
    path = unquote(url.raw_path.split(b"?", 1)[0].decode("ascii"))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": scheme,
        "path": root_path + path,
        "raw_path": (root_path + url.raw_path.split(b"?")[0].decode("latin-1")).encode(),
        "root_path": root_path,
        "query_string": url.query,
        "headers": headers,
        "client": ("testclient", 50000),
        "server": (url.host, url.port or default),
        # The host the test chose (base_url): the app trusts it as its own, as Django's test
        # client's "testserver"; a Host header the test sets is checked like any other.
        "extensions": {"plait.testclient": {"host": url.netloc}},
    }


async def _run_http(app: ASGIApp, scope: Scope, body: bytes) -> tuple[int, list[Any], bytes]:
    chunks = [body[i : i + _CHUNK] for i in range(0, len(body), _CHUNK)] or [b""]
    sent = 0
    response_done = asyncio.Event()
    status: int | None = None
    headers: list[Any] = []
    body_parts: list[bytes] = []

    async def receive() -> Message:
        nonlocal sent
        if sent < len(chunks):
            chunk = chunks[sent]
            sent += 1
            return {"type": "http.request", "body": chunk, "more_body": sent < len(chunks)}
        await response_done.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            if status is not None:
                raise RuntimeError("The app sent http.response.start twice")
            status = message["status"]
            headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            if status is None:
                raise RuntimeError("The app sent a body before http.response.start")
            if response_done.is_set():
                raise RuntimeError("The app sent a body after the response was complete")
            body_parts.append(message.get("body", b""))
            if not message.get("more_body", False):
                response_done.set()

    await app(scope, receive, send)
    if status is None:
        raise RuntimeError("The app returned without sending a response")
    return status, headers, b"".join(body_parts)


def _to_httpx(request: httpx.Request, result: tuple[int, list[Any], bytes]) -> httpx.Response:
    status, headers, body = result
    return httpx.Response(status, headers=headers, content=body, request=request)


class _Portal:
    """An event loop in a daemon thread, to run the app's coroutines from sync code."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def close(self) -> None:
        async def _drain() -> None:
            await self.loop.shutdown_asyncgens()
            await self.loop.shutdown_default_executor()

        self.call(_drain())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class _Transport(httpx.BaseTransport):
    def __init__(self, client: TestClient) -> None:
        self.client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        scope = _build_scope(request, self.client.root_path)
        body = request.read()
        result = self.client._portal_call(_run_http(self.client.app, scope, body))
        return _to_httpx(request, result)


class TestClient(httpx.Client):
    """A synchronous ``httpx.Client`` wired straight to an ASGI app (no network)."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        app: ASGIApp,
        base_url: str = "http://testserver",
        *,
        root_path: str = "",
        **kwargs: Any,
    ) -> None:
        self.app = app
        self.root_path = root_path
        self._portal: _Portal | None = None
        self._lifespan_task: concurrent.futures.Future[None] | None = None
        self._lifespan_queue: asyncio.Queue[Message] | None = None
        self._lifespan_events: queue.Queue[Message] = queue.Queue()
        kwargs.setdefault("follow_redirects", True)
        super().__init__(base_url=base_url, transport=_Transport(self), **kwargs)

    def _ensure_portal(self) -> _Portal:
        if self._portal is None:
            self._portal = _Portal()
        return self._portal

    def _portal_loop(self) -> asyncio.AbstractEventLoop:
        return self._ensure_portal().loop

    def _portal_call(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._ensure_portal().call(coro)

    def _portal_submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return self._ensure_portal().submit(coro)

    def websocket_connect(
        self,
        url: str,
        subprotocols: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> WebSocketTestSession:
        """Open a WebSocket to ``url``; use the result as a context manager.

        The client's cookies for that URL go with the handshake (a logged-in session), as a
        browser sends them, unless ``headers`` has a ``Cookie`` of its own.
        """
        absolute = urljoin(str(self.base_url), url)
        full = urlsplit(absolute)
        raw_headers = [
            (key.lower().encode(), value.encode()) for key, value in (headers or {}).items()
        ]
        if not any(name == b"host" for name, _ in raw_headers):
            raw_headers.insert(0, (b"host", full.netloc.encode()))
        if all(key != b"cookie" for key, _ in raw_headers):
            http = {"ws": "http", "wss": "https"}.get(full.scheme, full.scheme)
            probe = httpx.Request("GET", full._replace(scheme=http).geturl())
            self.cookies.set_cookie_header(probe)
            if "cookie" in probe.headers:
                raw_headers.append((b"cookie", probe.headers["cookie"].encode("latin-1")))
        if subprotocols:
            raw_headers.append((b"sec-websocket-protocol", ", ".join(subprotocols).encode()))
        scheme = "wss" if full.scheme == "https" else "ws"
        scope: Scope = {
            "type": "websocket",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "scheme": scheme,
            "path": self.root_path + unquote(full.path or "/"),
            "raw_path": (self.root_path + (full.path or "/")).encode(),
            "root_path": self.root_path,
            "query_string": full.query.encode(),
            "headers": raw_headers,
            "client": ("testclient", 50000),
            "server": (full.hostname or "testserver", full.port or 80),
            "subprotocols": subprotocols or [],
            "extensions": {
                "websocket.http.response": {},
                "plait.testclient": {"host": full.netloc.encode()},
            },
        }
        return WebSocketTestSession(self, scope)

    def post_form(
        self,
        url: str,
        data: Mapping[str, Any] | None = None,
        *,
        page: str | None = None,
        csrf_cookie: str = _CSRF_COOKIE,
        **kwargs: Any,
    ) -> httpx.Response:
        """POST ``data`` as a browser submits a form drawn with its CSRF token::

            client.post_form("/signup", {"username": "ada", "password1": "…", …})

        The token is the CSRF cookie's value. Without that cookie yet, ``page`` (``url``
        unless told) is fetched first, as a browser shows a form before posting it. The app
        checks the token exactly as for a browser: this helper lives in the test client
        only. ``kwargs`` go to :meth:`post` (``files=``, ``headers=``…).
        """
        if _csrf_secret(self.cookies, csrf_cookie) is None:
            self.get(page or url)
        return self.post(url, data=_with_token(self.cookies, data, csrf_cookie), **kwargs)

    # -- lifespan

    async def _lifespan(self) -> None:
        self._lifespan_queue = asyncio.Queue()
        inbox = self._lifespan_queue

        async def receive() -> Message:
            return await inbox.get()

        async def send(message: Message) -> None:
            self._lifespan_events.put(message)

        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        try:
            await self.app(scope, receive, send)
        finally:
            self._lifespan_events.put({"type": "_app.finished"})

    def _lifespan_send(self, message: Message) -> Message:
        inbox = self._lifespan_queue
        assert inbox is not None
        self._portal_loop().call_soon_threadsafe(inbox.put_nowait, message)
        return self._lifespan_events.get(timeout=60)

    def __enter__(self) -> TestClient:
        super().__enter__()
        self._lifespan_task = self._portal_submit(self._lifespan())
        while self._lifespan_queue is None:
            threading.Event().wait(0.001)
        reply = self._lifespan_send({"type": "lifespan.startup"})
        if reply["type"] == "_app.finished":
            # The app does not speak the lifespan protocol: as the ASGI spec asks of servers,
            # carry on without it (an error it raised for the lifespan scope is ignored).
            task, self._lifespan_task = self._lifespan_task, None
            concurrent.futures.wait([task], timeout=60)
        elif reply["type"] == "lifespan.startup.failed":
            self._lifespan_task.result(timeout=60)
            self._close_portal()
            raise RuntimeError(f"Application start-up failed: {reply.get('message', '')}")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        try:
            if self._lifespan_task is not None:
                reply = self._lifespan_send({"type": "lifespan.shutdown"})
                self._lifespan_task.result(timeout=60)
                self._lifespan_task = None
                if reply["type"] == "lifespan.shutdown.failed":
                    raise RuntimeError(f"Application shutdown failed: {reply.get('message', '')}")
        finally:
            super().__exit__(exc_type, exc_value, traceback)
            self._close_portal()

    def _close_portal(self) -> None:
        portal, self._portal = self._portal, None
        if portal is not None:
            portal.close()

    def close(self) -> None:
        super().close()
        self._close_portal()


class _AsyncTransport(httpx.AsyncBaseTransport):
    def __init__(self, client: AsyncTestClient) -> None:
        self.client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        scope = _build_scope(request, self.client.root_path)
        body = await request.aread()
        return _to_httpx(request, await _run_http(self.client.app, scope, body))


class AsyncTestClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` wired to an ASGI app; ``async with`` runs the lifespan."""

    __test__ = False

    def __init__(
        self,
        app: ASGIApp,
        base_url: str = "http://testserver",
        *,
        root_path: str = "",
        **kwargs: Any,
    ) -> None:
        self.app = app
        self.root_path = root_path
        self._lifespan_in: asyncio.Queue[Message] = asyncio.Queue()
        self._lifespan_out: asyncio.Queue[Message] = asyncio.Queue()
        self._lifespan_task: asyncio.Task[None] | None = None
        kwargs.setdefault("follow_redirects", True)
        super().__init__(base_url=base_url, transport=_AsyncTransport(self), **kwargs)

    async def post_form(
        self,
        url: str,
        data: Mapping[str, Any] | None = None,
        *,
        page: str | None = None,
        csrf_cookie: str = _CSRF_COOKIE,
        **kwargs: Any,
    ) -> httpx.Response:
        """:meth:`TestClient.post_form` for async tests."""
        if _csrf_secret(self.cookies, csrf_cookie) is None:
            await self.get(page or url)
        data = _with_token(self.cookies, data, csrf_cookie)
        return await self.post(url, data=data, **kwargs)

    async def _exchange(self, message: Message) -> Message:
        await self._lifespan_in.put(message)
        task = self._lifespan_task
        assert task is not None
        reply = asyncio.ensure_future(self._lifespan_out.get())
        await asyncio.wait({reply, task}, return_when=asyncio.FIRST_COMPLETED)
        if reply.done():
            return reply.result()
        reply.cancel()
        return {"type": "_app.finished"}

    async def __aenter__(self) -> AsyncTestClient:
        await super().__aenter__()
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self._lifespan_task = asyncio.create_task(
            _awaitable(self.app(scope, self._lifespan_in.get, self._lifespan_out.put))
        )
        reply = await self._exchange({"type": "lifespan.startup"})
        if reply["type"] == "_app.finished":
            # No lifespan support in the app: carry on without it, as ASGI servers do.
            task, self._lifespan_task = self._lifespan_task, None
            if not task.cancelled():
                task.exception()  # retrieved, so asyncio does not log it as lost
        elif reply["type"] == "lifespan.startup.failed":
            await self._lifespan_task
            raise RuntimeError(f"Application start-up failed: {reply.get('message', '')}")
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        try:
            if self._lifespan_task is not None:
                reply = await self._exchange({"type": "lifespan.shutdown"})
                await self._lifespan_task
                if reply["type"] == "lifespan.shutdown.failed":
                    raise RuntimeError(f"Application shutdown failed: {reply.get('message', '')}")
        finally:
            await super().__aexit__(*exc_info)


async def _awaitable(aw: Awaitable[None]) -> None:
    await aw
