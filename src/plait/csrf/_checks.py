"""The CSRF battery's deploy checks: a ``Secure`` cookie, and trusted origins over HTTPS."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from plait._settings import Settings
from plait.checks import Check, Finding, middleware_options
from plait.sessions._checks import cookie_secure_findings

if TYPE_CHECKING:
    from plait._app import App

__all__ = ["CHECKS"]


def _csrf(app: App, settings: Settings) -> Iterator[Finding]:
    option = "CSRF(app, cookie_secure=True)"
    for options in middleware_options(app, "CSRFMiddleware"):
        yield from cookie_secure_findings(
            app, settings, options.get("cookie_secure"), "CSRF", option, id="csrf.W001"
        )
        plain = [o for o in options.get("trusted_origins", ()) if o.startswith("http://")]
        if plain:
            yield Finding(
                "csrf.W002",
                "warning",
                f"CSRF trusts plain-HTTP origins ({', '.join(plain)}): a network attacker "
                "can forge requests from them",
                "list only https:// origins in CSRF(app, trusted_origins=[...])",
            )


CHECKS = [Check(_csrf, deploy=True)]
