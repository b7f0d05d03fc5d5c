"""The core's checks (``plait check --deploy``): DEBUG, SECRET_KEY, hosts, HTTPS, API docs.

Batteries keep their own next to their code (``plait/db/_checks.py``…), registered as
``plait.checks`` entry points; they find their middleware with
:func:`plait.checks.middleware_options`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from plait._hosts import LOCAL_HOSTS
from plait._settings import Settings, SettingsError
from plait.checks import Check, Finding, middleware_options

if TYPE_CHECKING:
    from plait._app import App

__all__ = ["CHECKS"]

_LOCAL = {*LOCAL_HOSTS, "localhost", "testserver"}


def _debug(app: App, settings: Settings) -> Iterator[Finding]:
    if app.debug or settings.DEBUG:
        yield Finding(
            "deploy.E001",
            "error",
            "DEBUG is on: error pages show tracebacks, code and settings to anyone",
            "unset PLAIT_DEBUG (and --debug, and App(debug=True)) in production",
        )


def _secret_key(app: App, settings: Settings) -> Iterator[Finding]:
    fix = (
        "set PLAIT_SECRET_KEY to the output of "
        "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
    )
    if settings.SECRET_KEY is None:
        yield Finding("deploy.E002", "error", "SECRET_KEY is not set", fix)
        return
    try:
        Settings.check_secret_key(settings.SECRET_KEY)
    except SettingsError as exc:
        yield Finding("deploy.E002", "error", exc.problems[0].split(": generate")[0], fix)


def _hosts(app: App, settings: Settings) -> Iterator[Finding]:
    hosts = app.allowed_hosts if app.allowed_hosts is not None else settings.ALLOWED_HOSTS
    fix = "set PLAIT_ALLOWED_HOSTS to the site's host names, e.g. example.com,.example.org"
    if "*" in hosts:
        yield Finding(
            "deploy.W007",
            "warning",
            "ALLOWED_HOSTS allows any host ('*'): a forged Host header reaches the app",
            fix,
        )
    elif not set(hosts) - _LOCAL:
        yield Finding(
            "deploy.E003",
            "error",
            f"ALLOWED_HOSTS only names local hosts ({', '.join(hosts) or 'none'}): "
            "every request for the site's domain gets a 400",
            fix,
        )


def _https(app: App, settings: Settings) -> Iterator[Finding]:
    if not middleware_options(app, "HTTPSRedirectMiddleware"):
        yield Finding(
            "deploy.W005",
            "warning",
            "Plain-HTTP requests are not redirected to HTTPS",
            "app.add_middleware(HTTPSRedirectMiddleware) (from plait.middleware), or redirect "
            "at the proxy and silence deploy.W005 (PLAIT_SILENCED_CHECKS)",
        )
    headers = middleware_options(app, "SecurityHeadersMiddleware")
    if not any(options.get("hsts", True) for options in headers):
        yield Finding(
            "deploy.W004",
            "warning",
            "No Strict-Transport-Security (HSTS) header: browsers may still try plain HTTP",
            "app.add_middleware(SecurityHeadersMiddleware) (from plait.middleware)",
        )


def _api_docs(app: App, settings: Settings) -> Iterator[Finding]:
    if app.openapi_url is None or not settings.API_DOCS:
        return
    pages = [url for url in (app.docs_url, app.redoc_url) if url is not None]
    yield Finding(
        "deploy.W006",
        "warning",
        f"The API's interactive docs are public: {', '.join([*pages, app.openapi_url])}",
        "set PLAIT_API_DOCS=0 to turn them off, or silence deploy.W006 if they are meant "
        "to be public",
    )


CHECKS = [
    Check(_debug, deploy=True),
    Check(_secret_key, deploy=True),
    Check(_hosts, deploy=True),
    Check(_https, deploy=True),
    Check(_api_docs, deploy=True),
]
"""The core's own checks, run before the batteries' (see :mod:`plait.checks`)."""
