"""The hosts an app answers to (``ALLOWED_HOSTS``): one matcher for the app, the
``TrustedHostMiddleware`` and anything that reads a forwarded host."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from plait._settings import Settings, SettingsError
from plait.types import Scope

__all__ = ["LOCAL_HOSTS", "AllowedHosts", "split_host"]

logger = logging.getLogger("plait.security")

LOCAL_HOSTS = (".localhost", "127.0.0.1", "[::1]", "testserver")
"""What an empty ``ALLOWED_HOSTS`` means in DEBUG (Django's rule, and test clients' host)."""

# A host name (or bracketed IPv6 literal) and an optional port, as Django validates it.
_HOST_RE = re.compile(rb"([a-z0-9._-]+|\[[a-f0-9]*:[a-f0-9.:]+\])(?::([0-9]{1,5}))?")
_CACHE_LIMIT = 256  # raw Host values remembered as allowed (a client can't grow it: only good ones)
_LOG_LIMIT = 100  # refused hosts logged, each once


def split_host(value: bytes) -> tuple[bytes, bytes]:
    """Split a ``Host`` header into (host, port), lower-cased, without a trailing dot.

    Returns ``(b"", b"")`` unless the value is a plain host name or bracketed IPv6
    literal with an optional numeric port, so a crafted header such as
    ``"a.com:80@evil.com"`` or ``"evil/.example.com"`` never matches or redirects.
    """
    match = _HOST_RE.fullmatch(value.strip().lower())
    if match is None:
        return b"", b""
    host, port = match.group(1, 2)
    return host.rstrip(b"."), port or b""


class AllowedHosts:
    """Host patterns, compiled once: ``"example.com"`` (exactly), ``".example.com"`` (it and
    its subdomains, as in Django), ``"*.example.com"`` (subdomains only) and ``"*"`` (any
    host). Ports are ignored; names are compared lower-case."""

    __slots__ = ("_logged", "allow_any", "exact", "seen", "seen_text", "setting", "suffixes")

    def __init__(self, patterns: Sequence[str], *, setting: str = "allowed_hosts") -> None:
        if isinstance(patterns, str):
            raise TypeError(f"{setting} must be a sequence of strings, not a single string")
        exact: set[bytes] = set()
        suffixes: list[bytes] = []
        for pattern in patterns:
            if pattern == "*":
                continue
            if not pattern.isascii():
                raise ValueError(f"host pattern {pattern!r} must be ASCII (use the xn-- form)")
            raw = pattern.strip().lower().encode("ascii")
            if raw.startswith((b"*.", b".")):
                domain = raw[2:] if raw.startswith(b"*.") else raw[1:]
                if b"*" in domain or not domain:
                    raise ValueError(f"invalid host pattern {pattern!r}")
                suffixes.append(b"." + domain)
                if raw.startswith(b"."):
                    exact.add(domain.rstrip(b"."))
            elif b"*" in raw or not raw or (b":" in raw and not raw.startswith(b"[")):
                raise ValueError(
                    f"invalid host pattern {pattern!r}: use 'example.com', '.example.com', "
                    "'*.example.com' or '*' (without a port)"
                )
            else:
                exact.add(raw.rstrip(b"."))
        self.allow_any = "*" in patterns
        self.exact = frozenset(exact)
        self.suffixes = tuple(suffixes)
        self.setting = setting
        self.seen: set[bytes] = set()
        """Raw ``Host`` values already allowed (at most 256: only allowed ones are kept, so a
        client cannot grow it): the hot path's one set lookup."""
        self.seen_text: set[str] = set()
        """:attr:`seen` for headers given as ``str`` (granian's RSGI)."""
        self._logged: set[bytes] = set()

    @classmethod
    def for_app(
        cls, patterns: Sequence[str] | None, settings: Settings, *, debug: bool
    ) -> AllowedHosts | None:
        """An app's hosts: ``patterns`` (``App(allowed_hosts=)``), else the settings'
        ``ALLOWED_HOSTS``; ``None`` when any host is allowed (``["*"]``). None at all is an
        error with DEBUG off, and the local hosts with it on (Django's rule)."""
        if patterns is None:
            patterns = settings.ALLOWED_HOSTS
        if not patterns:
            if not debug:
                raise SettingsError(
                    [
                        "No allowed hosts and DEBUG is off: set PLAIT_ALLOWED_HOSTS (the "
                        "ALLOWED_HOSTS setting) or App(allowed_hosts=[...]) to the host names "
                        "the app serves, e.g. PLAIT_ALLOWED_HOSTS=example.com,.example.org"
                    ]
                )
            patterns = LOCAL_HOSTS
        hosts = cls(patterns)
        return None if hosts.allow_any else hosts

    def refuses(self, scope: Scope) -> bool:
        """Whether the request's ``Host`` header names a host not allowed (answer 400). A
        request without one (HTTP/1.0) is served: URLs then use the server's own address.
        The test client's own host (its ``base_url``) is trusted."""
        for name, value in scope["headers"]:
            if name == b"host":
                if self.allows(value):
                    return False
                extensions = scope.get("extensions")
                test_client = extensions.get("plait.testclient") if extensions else None
                return test_client is None or test_client.get("host") != value
        return False

    def matches(self, host: bytes) -> bool:
        """Whether a bare host name (no port, lower-case) is allowed."""
        return (
            self.allow_any
            or host in self.exact
            or (bool(self.suffixes) and host.endswith(self.suffixes))
        )

    def allows(self, raw: bytes) -> bool:
        """Whether a raw ``Host`` header value is allowed."""
        # PERF: a host seen before is one set lookup.
        if raw in self.seen or self.allow_any:
            return True
        host, _ = split_host(raw)
        if host and self.matches(host):
            if len(self.seen) < _CACHE_LIMIT:
                self.seen.add(raw)
            return True
        self._log(raw)
        return False

    def allows_text(self, raw: str) -> bool:
        """:meth:`allows` for a header given as ``str`` (granian's RSGI)."""
        if raw in self.seen_text or self.allow_any:
            return True
        allowed = self.allows(raw.encode("latin-1", "replace"))
        if allowed and len(self.seen_text) < _CACHE_LIMIT:
            self.seen_text.add(raw)
        return allowed

    def _log(self, raw: bytes) -> None:
        if raw in self._logged or len(self._logged) >= _LOG_LIMIT:
            return
        self._logged.add(raw)
        shown = raw[:100].decode("latin-1") + ("…" if len(raw) > 100 else "")
        logger.warning(
            "Refused a request for host %r (400): if the app serves it, add it to "
            "ALLOWED_HOSTS (PLAIT_ALLOWED_HOSTS, or App(allowed_hosts=...))",
            shown,
        )
