"""The sessions battery's deploy check: is the session cookie ``Secure``?"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from plait._settings import Settings
from plait.checks import Check, Finding, https_only, middleware_options

if TYPE_CHECKING:
    from plait._app import App

__all__ = ["CHECKS", "cookie_secure_findings"]


def cookie_secure_findings(
    app: App, settings: Settings, secure: bool | None, what: str, option: str, id: str
) -> Iterator[Finding]:
    """Yield a warning when a cookie may travel over plain HTTP: ``secure=False``, or ``None``
    (Secure only on HTTPS requests) in an app that does not redirect to HTTPS. Shared by
    the batteries that set cookies."""
    if secure is True or (secure is None and https_only(app, settings)):
        return
    why = (
        "is never Secure"
        if secure is False
        else "is Secure only on requests that arrive over HTTPS, and plain HTTP is served"
    )
    yield Finding(
        id,
        "warning",
        f"The {what} cookie {why}: it can leak over plain HTTP",
        f"pass {option}, or add HTTPSRedirectMiddleware (and PLAIT_TRUSTED_PROXIES "
        "behind a TLS proxy)",
    )


def _secure_cookie(app: App, settings: Settings) -> Iterator[Finding]:
    option = "Sessions(app, secure=True)"
    for options in middleware_options(app, "SessionMiddleware"):
        yield from cookie_secure_findings(
            app, settings, options.get("secure"), "session", option, id="sessions.W001"
        )


CHECKS = [Check(_secure_cookie, deploy=True)]
