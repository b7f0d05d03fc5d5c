"""The per-route response cache: ``@cache.page(ttl=...)`` and its pure ASGI middleware.

A cached page is stored the way Django's cache middleware stores it: the request headers
the response varies on (its ``Vary`` header) are remembered per URL, and each combination of
their values is a variant of its own. Responses that set a cookie are never stored, and
neither are responses that depend on the user (``Vary: Cookie``/``Authorization``, a session
that was read, ``Cache-Control: private``) unless the page says ``per_user=True``.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from plait.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from plait import App
    from plait.cache._cache import Cache

__all__ = ["PageCacheMiddleware", "PagePolicy", "Pages"]

Headers = list[tuple[bytes, bytes]]

_USER_HEADERS = frozenset((b"cookie", b"authorization"))
_NOT_STORED = frozenset((b"no-store", b"no-cache", b"private"))
# (fresh until, stored at, status, headers, body, etag)
_Entry = tuple[float, float, int, list[tuple[bytes, bytes]], bytes, bytes]
_entry_decoder = msgspec.msgpack.Decoder(_Entry)
_names_decoder = msgspec.msgpack.Decoder(list[bytes])
_encoder = msgspec.msgpack.Encoder()
_REMEMBERED = 10_000  # URLs whose Vary names are remembered in this process
_PARAM = re.compile(r"\{([^}:]+)(?::([^}]+))?\}")


class PagePolicy(msgspec.Struct, frozen=True):
    """How one route's responses are cached (made by :meth:`Cache.page`)."""

    ttl: float
    stale: float = 0.0
    vary: tuple[bytes, ...] = ()
    per_user: bool = False
    max_size: int = 1 << 20
    lock_timeout: float = 5.0


def _template_pattern(path: str) -> str:
    """A regular expression for the paths a route template can match."""
    parts = _PARAM.split(path)
    out = []
    # re.split with two groups yields [text, name, convertor, text, ...]
    for index in range(0, len(parts), 3):
        out.append(re.escape(parts[index]))
        if index + 1 < len(parts):
            out.append(".*" if parts[index + 2] == "path" else "[^/]+")
    return "".join(out)


class Pages:
    """The routes whose responses are cached, found by path before the app routes them."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.policies: dict[Callable[..., Any], PagePolicy] = {}
        self._static: dict[str, PagePolicy] | None = None
        self._patterns: list[tuple[re.Pattern[str], PagePolicy]] = []

    def _compile(self) -> dict[str, PagePolicy]:
        static: dict[str, PagePolicy] = {}
        for route in self.app.routes:
            policy = self.policies.get(getattr(route, "endpoint", None))  # type: ignore[arg-type]
            methods = getattr(route, "methods", ())
            if policy is None or "GET" not in methods:
                continue
            if "{" in route.path:
                self._patterns.append((re.compile(_template_pattern(route.path)), policy))
            else:
                static[route.path] = policy
        self._static = static
        return static

    def match(self, path: str) -> PagePolicy | None:
        """The policy of a cached route that may serve ``path`` (confirmed after routing)."""
        static = self._static if self._static is not None else self._compile()
        policy = static.get(path)
        if policy is not None or not self._patterns:
            return policy
        for pattern, candidate in self._patterns:
            if pattern.fullmatch(path):
                return candidate
        return None

    def confirmed(self, scope: Scope) -> PagePolicy | None:
        """The policy of the route that actually answered (``None``: not a cached page)."""
        route = scope.get("route")
        return self.policies.get(route.endpoint) if route is not None else None


def _header(headers: Sequence[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for key, value in headers:
        if key == name:
            return value
    return None


def _tokens(value: bytes | None) -> set[bytes]:
    if not value:
        return set()
    return {part.strip().lower() for part in value.split(b",") if part.strip()}


def _max_age(control: bytes) -> float:
    """A response's own freshness lifetime from ``Cache-Control`` (``s-maxage`` first, as a
    shared cache reads it); infinite when it gives none."""
    ages = {}
    for token in _tokens(control):
        name, _, value = token.partition(b"=")
        if name in (b"max-age", b"s-maxage") and value.strip().isdigit():
            ages[name] = float(value.strip())
    return ages.get(b"s-maxage", ages.get(b"max-age", float("inf")))


def _etag_matches(if_none_match: bytes | None, etag: bytes) -> bool:
    """RFC 9110's weak comparison of ``If-None-Match`` against the entry's ETag."""
    if if_none_match is None:
        return False
    if if_none_match.strip() == b"*":
        return True
    wanted = etag.removeprefix(b"W/")
    return any(tag.strip().removeprefix(b"W/") == wanted for tag in if_none_match.split(b","))


def _digest(*parts: bytes) -> str:
    hasher = hashlib.blake2b(digest_size=16)
    for part in parts:
        hasher.update(part)
        hasher.update(b"\0")
    return hasher.hexdigest()


class PageCacheMiddleware:
    """Serve cached pages before the app runs; store the ones it renders. Added by
    :meth:`Cache.page`; everything else passes through at the cost of one dict lookup."""

    def __init__(self, app: ASGIApp, *, cache: Cache, pages: Pages) -> None:
        self.app = app
        self.cache = cache
        self.pages = pages
        self.backend = cache.backend
        self.prefix = cache.prefix + "page:"
        self._names: dict[str, list[bytes]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        root = scope.get("root_path")
        if root and path.startswith(root):
            path = path[len(root) :] or "/"
        policy = self.pages.match(path)
        headers = scope["headers"]
        if policy is None or (
            not policy.per_user and _header(headers, b"authorization") is not None
        ):
            await self.app(scope, receive, send)
            return
        host = _header(headers, b"host") or b""
        url = f"{scope.get('scheme', 'http')}://{host.decode('latin-1')}{scope['path']}"
        base = self.prefix + _digest(url.encode("utf-8"), scope.get("query_string", b""))
        names, entry = await self._lookup(base, headers)
        if (
            names is not None
            and not policy.per_user
            and _USER_HEADERS.intersection(names)
            and any(k in _USER_HEADERS for k, _ in headers)
        ):
            # The page varies by cookie or credentials and this request has them: it is
            # rendered for this user alone, never stored, and never waits for a lock.
            await self.app(scope, receive, send)
            return
        if entry is not None and entry[0] > time.time():
            await self._serve(entry, scope, send)
            return
        lock = base + ":lock"
        deadline = time.monotonic() + policy.lock_timeout
        pause = 0.005
        while True:
            if await self.backend.add(lock, b"1", policy.lock_timeout):
                try:
                    # Another request may have stored it between our look-up and the lock.
                    _, fresh = await self._lookup(base, headers)
                    if fresh is not None and fresh[0] > time.time():
                        await self._serve(fresh, scope, send)
                        return
                    await self._render(base, scope, receive, send)
                finally:
                    await self.backend.delete(lock)
                return
            if entry is not None:  # stale: someone else is refreshing it
                await self._serve(entry, scope, send)
                return
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.1)
            _, entry = await self._lookup(base, headers)
            if entry is not None and entry[0] > time.time():
                await self._serve(entry, scope, send)
                return
            entry = None
        await self._render(base, scope, receive, send)

    async def _lookup(
        self, base: str, headers: Headers
    ) -> tuple[list[bytes] | None, _Entry | None]:
        """The header names the URL varies on (if known) and the request's variant."""
        # PERF: the header names a URL varies on hardly ever change: remembered in this
        # process, a hit on Redis is one round trip instead of two.
        names = self._names.get(base)
        if names is None:
            raw_names = await self.backend.get(base)
            if raw_names is None:
                return None, None
            names = self._remember(base, _names_decoder.decode(raw_names))
        raw = await self.backend.get(self._variant(base, names, headers))
        return names, None if raw is None else _entry_decoder.decode(raw)

    def _remember(self, base: str, names: list[bytes]) -> list[bytes]:
        if len(self._names) >= _REMEMBERED:
            self._names.clear()
        self._names[base] = names
        return names

    @staticmethod
    def _variant(base: str, names: list[bytes], headers: Headers) -> str:
        if not names:
            return base + ":"
        values = [b",".join(v for k, v in headers if k == name) for name in names]
        return base + ":" + _digest(*values)

    async def _serve(self, entry: _Entry, scope: Scope, send: Send) -> None:
        _, stored_at, status, headers, body, etag = entry
        age = (b"age", b"%d" % max(0, int(time.time() - stored_at)))
        if _etag_matches(_header(scope["headers"], b"if-none-match"), etag):
            kept = [(k, v) for k, v in headers if k in (b"etag", b"cache-control", b"vary")]
            await send({"type": "http.response.start", "status": 304, "headers": [*kept, age]})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": status, "headers": [*headers, age]})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )

    async def _render(self, base: str, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app, send its response, and store it when it may be stored."""
        state: dict[str, Any] = {"start": None, "policy": None, "chunks": [], "size": 0}
        request_headers: Headers = scope["headers"]

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                policy = self._storable(scope, message)
                if policy is None:
                    await send(message)
                    return
                state["start"], state["policy"] = message, policy
                return
            if state["start"] is None:  # not stored: pass everything through
                await send(message)
                return
            body: bytes = message.get("body", b"")
            state["chunks"].append(body)
            state["size"] += len(body)
            if message.get("more_body", False):
                if state["policy"].max_size < state["size"]:
                    await self._give_up(state, send)
                return
            await self._finish(base, state, scope, request_headers, send)

        await self.app(scope, receive, capture)
        if state["start"] is not None:  # the app ended without a last body message
            await self._give_up(state, send)

    async def _give_up(self, state: dict[str, Any], send: Send) -> None:
        """Send what was held back and stop storing (too large, or unfinished)."""
        start, state["start"] = state["start"], None
        await send(start)
        for chunk in state["chunks"]:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

    async def _finish(
        self,
        base: str,
        state: dict[str, Any],
        scope: Scope,
        request_headers: Headers,
        send: Send,
    ) -> None:
        start: Message = state["start"]
        policy: PagePolicy = state["policy"]
        state["start"] = None
        body = b"".join(state["chunks"])
        headers: Headers = [(k.lower(), v) for k, v in start.get("headers", ())]
        etag = _header(headers, b"etag")
        if etag is None and scope["method"] == "GET":  # (a HEAD response has no body to hash)
            etag = b'"' + _digest(body).encode("ascii") + b'"'
            headers.append((b"etag", etag))
        control = _header(headers, b"cache-control")
        ttl = min(policy.ttl, _max_age(control)) if control is not None else policy.ttl
        if control is None:
            visibility = b"private, " if policy.per_user else b""
            headers.append((b"cache-control", visibility + b"max-age=%d" % policy.ttl))
        names = self._vary_names(policy, headers, scope)
        if names:
            headers = [(k, v) for k, v in headers if k != b"vary"]
            headers.append((b"vary", b", ".join(name.title() for name in names)))
        if _header(headers, b"content-length") is None:
            headers.append((b"content-length", b"%d" % len(body)))
        if etag is not None and _etag_matches(_header(request_headers, b"if-none-match"), etag):
            kept = [(k, v) for k, v in headers if k in (b"etag", b"cache-control", b"vary")]
            await send({"type": "http.response.start", "status": 304, "headers": kept})
            await send({"type": "http.response.body", "body": b""})
        else:
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        if etag is None or len(body) > policy.max_size or scope["method"] != "GET" or ttl <= 0:
            return
        user_names = _USER_HEADERS.intersection(names)
        if user_names and not policy.per_user and any(k in user_names for k, _ in request_headers):
            return  # varies by the user's cookie or credentials, and this request had them
        now = time.time()
        kept_for = ttl + policy.stale
        entry: _Entry = (now + ttl, now, start["status"], headers, body, etag)
        await self.backend.set(base, _encoder.encode(names), kept_for)
        self._remember(base, names)
        variant = self._variant(base, names, request_headers)
        await self.backend.set(variant, _encoder.encode(entry), kept_for)

    def _storable(self, scope: Scope, start: Message) -> PagePolicy | None:
        """The route's policy if this response may be stored, else ``None``."""
        policy = self.pages.confirmed(scope)
        if policy is None or start["status"] != 200:
            return None
        headers = start.get("headers", ())
        names = {k.lower() for k, _ in headers}
        if b"set-cookie" in names:
            return None
        control = _tokens(_header([(k.lower(), v) for k, v in headers], b"cache-control"))
        refused = _NOT_STORED - {b"private"} if policy.per_user else _NOT_STORED
        if control & refused:
            return None
        vary = _tokens(_header([(k.lower(), v) for k, v in headers], b"vary"))
        if b"*" in vary:
            return None
        return policy

    @staticmethod
    def _vary_names(policy: PagePolicy, headers: Headers, scope: Scope) -> list[bytes]:
        names = _tokens(_header(headers, b"vary")) | set(policy.vary)
        session = scope.get("session")
        if getattr(session, "accessed", False) or scope.get("user") is not None:
            names.add(b"cookie")  # the page read the session, whatever middleware comes next
        if policy.per_user:
            names |= _USER_HEADERS
        return sorted(names)
