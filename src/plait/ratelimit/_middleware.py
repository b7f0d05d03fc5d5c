"""``RateLimitMiddleware``: one rule over every HTTP request, as a pure ASGI middleware."""

from __future__ import annotations

import msgspec

from plait.ratelimit._limiter import RateLimit, RateLimiter
from plait.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RateLimitMiddleware"]


_problem = msgspec.json.Encoder()


class RateLimitMiddleware:
    """Refuse requests over ``rule`` with a 429 problem (``application/problem+json``) and
    ``Retry-After``; add the ``RateLimit-*`` headers to the responses it lets through::

        limiter = RateLimiter(app)
        limiter.middleware("1000/hour", key="ip")
        # or: app.add_middleware(RateLimitMiddleware, rule=RateLimit("1000/hour", limiter=limiter))

    It runs before routing, so its default group is the whole app (one budget per client).
    A response that already carries ``RateLimit-*`` headers (from a route's own, more
    specific rule) keeps them.
    """

    def __init__(self, app: ASGIApp, *, rule: RateLimit) -> None:
        if rule.limiter is None:
            raise ValueError(
                "RateLimitMiddleware's rule needs its limiter: RateLimit(..., limiter=)"
            )
        self.app = app
        self.rule = rule
        self.limiter: RateLimiter = rule.limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.rule.applies(scope):
            await self.app(scope, receive, send)
            return
        decision = await self.rule.hit(scope, self.limiter)
        if decision is None:
            await self.app(scope, receive, send)
            return
        extra = [
            (k.lower().encode("latin-1"), v.encode("latin-1"))
            for k, v in decision.headers().items()
        ]
        if not decision.allowed:
            body = _problem.encode(self.rule.refusal(decision).to_problem())
            headers = [
                (b"content-type", b"application/problem+json"),
                (b"content-length", b"%d" % len(body)),
                *extra,
            ]
            await send({"type": "http.response.start", "status": 429, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return

        if not self.rule.headers:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                # A route's own rule (a dependency) is more specific: its headers win.
                if not any(name.lower() == b"ratelimit-limit" for name, _ in headers):
                    headers.extend(extra)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
