"""``CSRF(app)``: the middleware on an app, ``csrf_token(request)`` and ``@csrf_exempt``."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar, Unpack

from plait import App, HTTPConnection
from plait.csrf._middleware import CSRFMiddleware, CSRFOptions
from plait.types import Scope

__all__ = ["CSRF", "csrf_exempt", "csrf_token", "rotate_token"]

F = TypeVar("F", bound=Callable[..., Any])

_PARAM = re.compile(r"\{([^}:]+)(?::([^}]+))?\}")


def csrf_token(request: HTTPConnection) -> str:
    """A masked CSRF token for ``request``'s page or client (a new one per call).

    Put it in a form's ``csrf_token`` field or an ``X-CSRF-Token`` header; asking for one
    makes sure the response sets the CSRF cookie. In templates: ``{{ csrf_input() }}``.
    """
    token: Callable[[], str] | None = request.scope.get("csrf_token")
    if token is None:
        raise RuntimeError(
            "csrf_token() needs the CSRF middleware: add CSRF(app) (from plait.csrf) before "
            "the app starts"
        )
    return token()


def rotate_token(request: HTTPConnection) -> None:
    """Give the client a new CSRF secret, as Django's ``login()`` does: call it when the
    user signs in, so a token planted before (login CSRF) stops working
    (:func:`plait.auth.login` calls it). Without the CSRF middleware it does nothing."""
    token = request.scope.get("csrf_token")
    rotate: Callable[[], None] | None = getattr(token, "rotate", None)
    if rotate is not None:
        rotate()


def csrf_exempt(func: F) -> F:
    """Exempt a route's path from CSRF checks (a webhook signed another way)::

        @app.post("/hooks/stripe")
        @csrf_exempt
        async def stripe_hook(request: Request) -> None: ...

    The middleware runs before routing, so it exempts the route's *path* (every method on
    it), matched with the route's path parameters. Prefer ``CSRF(app, exempt=[...])`` for
    whole prefixes such as a token-authenticated ``/api``.
    """
    func.csrf_exempt = True  # type: ignore[attr-defined]
    return func


def _path_pattern(path: str) -> re.Pattern[str]:
    out, at = [], 0
    for match in _PARAM.finditer(path):
        out.append(re.escape(path[at : match.start()]))
        out.append(".+" if match.group(2) == "path" else "[^/]+")
        at = match.end()
    out.append(re.escape(path[at:]))
    return re.compile("".join(out))


class CSRF:
    """Django's CSRF protection for an app::

        from plait import App
        from plait.csrf import CSRF

        app = App()
        CSRF(app)

    Every unsafe request (POST, PUT, PATCH, DELETE…) must come from the site itself (its
    ``Origin``, or over HTTPS its ``Referer``) or from one of ``trusted_origins``, and carry
    the token: the ``csrf_token`` form field (``{{ csrf_input() }}`` in a template) or the
    ``X-CSRF-Token`` header. Failures are 403s saying why. Form bodies are read up to the
    app's ``max_body_size`` and ``body_timeout`` (see :class:`CSRFMiddleware` for every option).

    The ``csrftoken`` cookie is not HttpOnly, as in Django: a page's script reads it to send
    the header. That gives a script nothing it could not read from a page's form anyway.
    """

    def __init__(self, app: App | None = None, **options: Unpack[CSRFOptions]) -> None:
        self.options = options
        """The middleware's options: the same type, so nothing is listed twice."""
        # Bad options fail here, not when the app starts.
        CSRFMiddleware(_never, **self.options)
        self.app: App | None = None
        self._request_exemptions: list[Callable[[Scope], bool]] = []
        if app is not None:
            self.init_app(app)

    def init_app(self, app: App) -> None:
        """Add the middleware to ``app`` (with the app's body size cap)."""
        if getattr(app.state, "csrf", None) is not None:
            raise RuntimeError("The app already has CSRF protection")
        app.state.csrf = self
        self.app = app
        app.add_middleware(
            CSRFMiddleware,
            **self.options,
            max_body_size=app.max_body_size,
            body_timeout=app.body_timeout,
            form_limits=app.form_limits,
            exempt_routes=self.exempt_routes,
            exempt_request=self._exempt_request,
        )

    def exempt_requests(self, predicate: Callable[[Scope], bool]) -> None:
        """Skip the check for the requests ``predicate(scope)`` picks: plait.auth's token
        requests, which a browser cannot send by itself (no ambient credential, nothing to
        forge), and which that battery then never authenticates by their cookies."""
        if predicate not in self._request_exemptions:
            self._request_exemptions.append(predicate)

    def _exempt_request(self, scope: Scope) -> bool:
        return any(predicate(scope) for predicate in self._request_exemptions)

    def exempt_routes(self) -> list[re.Pattern[str]]:
        """Path patterns of the app's routes marked :func:`csrf_exempt`."""
        if self.app is None:
            return []
        return [
            _path_pattern(route.path)
            for route in self.app.routes
            if getattr(getattr(route, "endpoint", None), "csrf_exempt", False)
        ]


async def _never(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("only used to check the options")
