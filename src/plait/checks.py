"""System checks: what ``plait check [--deploy]`` reports about an app, Django-style.

A check is a function ``(app, settings) -> findings``; each :class:`Finding` has a stable
ID (``deploy.W004``), a level, what is wrong and a one-line fix. ``plait run`` runs the
checks that are not deploy-only at start-up and refuses to serve on an error; ``plait check
--deploy`` adds the production ones (DEBUG, keys, hosts, HTTPS, cookies…).

Batteries register theirs without the core importing them, as an entry point in the
``plait.checks`` group whose object is a :class:`Check` or a sequence of them::

    [project.entry-points."plait.checks"]
    db = "plait.db._checks:CHECKS"

A project adds its own with the :func:`register` decorator::

    from plait.checks import Finding, register

    @register(deploy=True)
    def backups_configured(app, settings):
        if not os.environ.get("BACKUP_BUCKET"):
            yield Finding("myapp.W001", "warning", "No backup bucket", "set BACKUP_BUCKET")

A finding is silenced by listing its ID in the ``SILENCED_CHECKS`` setting
(``PLAIT_SILENCED_CHECKS=deploy.W005``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from plait._plugins import battery_entry_points
from plait._settings import Settings, SettingsError

if TYPE_CHECKING:
    from plait._app import App

__all__ = [
    "ENTRY_POINT_GROUP",
    "Check",
    "CheckFunction",
    "Finding",
    "Level",
    "https_only",
    "middleware_options",
    "register",
    "run_checks",
]

ENTRY_POINT_GROUP = "plait.checks"
Level = Literal["error", "warning"]
logger = logging.getLogger("plait.checks")


@dataclass(frozen=True)
class Finding:
    """One problem a check found: a stable ``id``, ``"error"`` or ``"warning"``, what is
    wrong, and the one-line ``fix``."""

    id: str
    level: Level
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.id} ({self.level}) {self.message}\n    fix: {self.fix}"


CheckFunction = Callable[["App", Settings], Iterable[Finding]]


@dataclass(frozen=True)
class Check:
    """A check function, and when it runs: always, only with ``--deploy`` (``deploy``), or
    only without (``skip_on_deploy``: a deploy check says the same more strictly)."""

    function: CheckFunction
    deploy: bool = False
    skip_on_deploy: bool = False

    @property
    def name(self) -> str:
        return f"{self.function.__module__}.{self.function.__qualname__}"


_REGISTERED: list[Check] = []


def middleware_options(app: App, name: str) -> list[dict[str, Any]]:
    """The options of each middleware whose class is called ``name`` added to ``app``::

    middleware_options(app, "SessionMiddleware")  # [{"secure": None, ...}]
    """
    return [dict(options) for cls, options in app.user_middleware if cls.__name__ == name]


def https_only(app: App, settings: Settings) -> bool:
    """Whether every request the app serves arrives over HTTPS, as far as the app can tell:
    it redirects plain HTTP (``HTTPSRedirectMiddleware``). Cookies whose ``secure`` is left
    to the request's scheme are then always ``Secure``."""
    return bool(middleware_options(app, "HTTPSRedirectMiddleware"))


def register(*, deploy: bool = False) -> Callable[[CheckFunction], CheckFunction]:
    """Decorate a check function of your project: ``plait check`` runs it from then on."""

    def decorator(function: CheckFunction) -> CheckFunction:
        _REGISTERED.append(Check(function, deploy=deploy))
        return function

    return decorator


def _installed() -> list[Check]:
    """The core's checks, then the ``plait.checks`` entry points' of the batteries the app
    imported (the package holding the entry point's module is in ``sys.modules``)."""
    from plait._deploychecks import CHECKS  # it imports this module's types: a cycle

    found = list(CHECKS)
    for loaded in battery_entry_points(ENTRY_POINT_GROUP):
        items = [loaded] if isinstance(loaded, Check) else list(loaded)
        found.extend(item for item in items if isinstance(item, Check))
    return found


def run_checks(
    app: App,
    *,
    deploy: bool = False,
    settings: Settings | None = None,
    checks: Sequence[Check] | None = None,
) -> list[Finding]:
    """Run the checks (the deploy-only ones too with ``deploy``) on ``app``; return the
    findings not silenced by ``settings.SILENCED_CHECKS``, errors first.

    ``settings`` defaults to ``Settings.load(check=False)`` (the environment and ``.env``);
    ``checks`` replaces the installed and registered ones.
    """
    findings: list[Finding] = []
    if settings is None:
        try:
            settings = Settings.load(check=False)
        except SettingsError as exc:
            fix = "correct these variables in the environment or .env"
            return [Finding("plait.E001", "error", problem, fix) for problem in exc.problems]
    chosen = [*_installed(), *_REGISTERED] if checks is None else list(checks)
    for check in chosen:
        if (check.deploy and not deploy) or (check.skip_on_deploy and deploy):
            continue
        try:
            findings.extend(check.function(app, settings))
        except Exception as exc:
            findings.append(
                Finding(
                    "plait.E002",
                    "error",
                    f"The check {check.name} failed: {type(exc).__name__}: {exc}",
                    "fix the check, or the configuration it reads",
                )
            )
    silenced = set(settings.SILENCED_CHECKS)
    kept = [finding for finding in findings if finding.id not in silenced]
    return sorted(kept, key=lambda finding: finding.level != "error")
