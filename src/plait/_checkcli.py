"""``plait check [--deploy] APP``, and the start-up checks of ``plait run``."""

from __future__ import annotations

import click

from plait._clioptions import app_options
from plait._loading import LoadedApp, app_settings, cli_load_app
from plait.checks import Finding, run_checks

__all__ = ["check_command", "startup_checks"]


def _print(findings: list[Finding]) -> None:
    for finding in findings:
        color = "red" if finding.level == "error" else "yellow"
        click.echo(click.style(finding.id, fg=color, bold=True) + str(finding)[len(finding.id) :])


def _summary(findings: list[Finding]) -> str:
    errors = sum(finding.level == "error" for finding in findings)
    warnings = len(findings) - errors
    return f"{errors} error(s), {warnings} warning(s)"


def startup_checks(loaded: LoadedApp, app_spec: str) -> None:
    """What ``plait run`` does before serving: print the findings of the checks that are
    not deploy-only; refuse to serve when one is an error."""
    findings = run_checks(loaded.app, settings=app_settings(loaded))
    if not findings:
        return
    for finding in findings:
        click.echo(f"plait: {finding}", err=True)
    if any(finding.level == "error" for finding in findings):
        raise click.ClickException(
            f"{app_spec}: the checks found {_summary(findings)}; fix the errors above "
            "(or pass --skip-checks)"
        )


@click.command("check")
@click.option(
    "--deploy",
    is_flag=True,
    help="Also run the production checks (DEBUG, SECRET_KEY, hosts, HTTPS, cookies, docs).",
)
@click.option(
    "--fail-level",
    type=click.Choice(["error", "warning"]),
    default="error",
    show_default=True,
    help="Exit non-zero on findings of this level or worse.",
)
@app_options
def check_command(app_spec: str, app_dir: str, deploy: bool, fail_level: str) -> None:
    """Check APP for problems: each finding has an ID and a one-line fix.

    With --deploy, run the production checks too, with the settings of the environment it
    runs in (PLAIT_* variables and .env). Silence a finding with PLAIT_SILENCED_CHECKS=ID,...
    """
    loaded = cli_load_app(app_spec, app_dir)
    findings = run_checks(loaded.app, deploy=deploy, settings=app_settings(loaded))
    _print(findings)
    kind = "deploy checks" if deploy else "checks"
    if not findings:
        click.echo(f"plait check: no problems found ({kind})")
        return
    click.echo(f"plait check: {_summary(findings)} ({kind})")
    failing = {"error"} if fail_level == "error" else {"error", "warning"}
    if any(finding.level in failing for finding in findings):
        raise SystemExit(1)
