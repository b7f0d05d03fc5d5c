"""Trust ``X-Forwarded-For`` and ``X-Forwarded-Proto`` from the proxies you name, only."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from plait.types import ASGIApp, Receive, Scope, Send

__all__ = ["ProxyHeadersMiddleware"]

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_SCHEMES = {"http": ("http", "ws"), "https": ("https", "wss")}


class ProxyHeadersMiddleware:
    """Take the client address and scheme from a trusted proxy's forwarded headers.

    A request whose peer is one of ``trusted_proxies`` (addresses or networks:
    ``"127.0.0.1"``, ``"10.0.0.0/8"``, ``"::1"``; ``"*"`` trusts every peer) gets
    ``scope["client"]`` from ``X-Forwarded-For`` — the right-most address that is not itself
    a trusted proxy, so a client cannot choose its own address by sending the header — and
    ``scope["scheme"]`` from the matching ``X-Forwarded-Proto`` entry. A request from any
    other peer keeps the connection's own address and scheme, whatever headers it sends.
    The rate limits, the logs, ``Secure`` cookies, CSRF origin checks and absolute redirect
    URLs all read these two scope keys.

    ``App(trusted_proxies=[...])``, or the ``TRUSTED_PROXIES`` setting
    (``PLAIT_TRUSTED_PROXIES``), adds it as the outermost middleware, so everything else
    sees the client's address; add it yourself only to wrap another ASGI app::

        app = App(trusted_proxies=["10.0.0.0/8"])
    """

    def __init__(self, app: ASGIApp, *, trusted_proxies: Sequence[str]) -> None:
        if isinstance(trusted_proxies, str):
            raise TypeError("trusted_proxies must be a list of addresses, not a single string")
        self.app = app
        self.trust_all = "*" in trusted_proxies
        exact: set[str] = set()
        networks: list[_Network] = []
        for entry in trusted_proxies:
            if entry == "*":
                continue
            try:
                network = ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(
                    f"trusted proxy {entry!r} is not an IP address or network "
                    "(like '10.0.0.1', '10.0.0.0/8' or '::1')"
                ) from None
            if network.num_addresses == 1:
                exact.add(str(network.network_address))
            else:
                networks.append(network)
        self.exact = frozenset(exact)
        self.networks = tuple(networks)

    def is_trusted(self, host: str) -> bool:
        """Whether ``host`` (an address as a string) is one of the trusted proxies."""
        if self.trust_all or host in self.exact:
            return True
        if not self.networks:
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http" or kind == "websocket":
            client = scope.get("client")
            # PERF: a request that did not come through a trusted proxy costs a set lookup.
            if client and self.is_trusted(client[0]):
                self._apply(scope, kind)
        await self.app(scope, receive, send)

    def _apply(self, scope: Scope, kind: str) -> None:
        forwarded_for: list[str] = []
        forwarded_proto: list[str] = []
        for name, value in scope["headers"]:
            if name == b"x-forwarded-for":
                forwarded_for.extend(_entries(value))
            elif name == b"x-forwarded-proto":
                forwarded_proto.extend(_entries(value))
        hops = 1
        if forwarded_for:
            # Right to left: each entry was added by the proxy after it; the first address
            # that is not a trusted proxy is the client (all trusted: the left-most one).
            client = forwarded_for[0]
            for hops, address in enumerate(reversed(forwarded_for), start=1):  # noqa: B007
                if not self.is_trusted(address):
                    client = address
                    break
            if _valid_address(client):
                scope["client"] = (client, 0)
        if forwarded_proto:
            proto = forwarded_proto[-hops] if hops <= len(forwarded_proto) else forwarded_proto[0]
            schemes = _SCHEMES.get(proto.lower())
            if schemes is not None:
                scope["scheme"] = schemes[0] if kind == "http" else schemes[1]


def _entries(value: bytes) -> list[str]:
    return [part.strip() for part in value.decode("latin-1").split(",") if part.strip()]


def _valid_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
