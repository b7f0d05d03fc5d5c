"""``plait check [--deploy]``: what it finds, how it is silenced, and ``plait run``'s use of it."""

from __future__ import annotations

import sqlite3
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from plait import App, Settings, cli
from plait.checks import Check, Finding, register, run_checks
from plait.middleware import HTTPSRedirectMiddleware, SecurityHeadersMiddleware
from plait.testing import TestClient

KEY = "k3Jq9vLm2Xp7Rt5Wz8Nb4Cd6Fg1Hs0Ya"
PRODUCTION = {
    "PLAIT_SECRET_KEY": KEY,
    "PLAIT_ALLOWED_HOSTS": "example.com",
    "PLAIT_API_DOCS": "0",
}


@pytest.fixture(autouse=True)
def _no_registered_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Checks another test (or a docs page) registered must not show up here."""
    from plait import checks

    monkeypatch.setattr(checks, "_REGISTERED", [])


def settings(**environ: str) -> Settings:
    return Settings.load(environ=environ, env_file=None, check=False)


def ids(findings: list[Finding]) -> list[str]:
    return [finding.id for finding in findings]


def hardened() -> App:
    app = App()
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(HTTPSRedirectMiddleware)
    return app


def test_a_new_app_passes_the_development_checks() -> None:
    assert run_checks(App(), settings=settings()) == []


def test_deploy_checks_name_each_problem_with_an_id_and_a_fix() -> None:
    findings = run_checks(App(debug=True), deploy=True, settings=settings())
    assert ids(findings) == [
        "deploy.E001",
        "deploy.E002",
        "deploy.E003",
        "deploy.W005",
        "deploy.W004",
        "deploy.W006",
    ]
    for finding in findings:
        assert finding.fix
        assert "\n" not in finding.fix
        assert str(finding).startswith(f"{finding.id} ({finding.level}) ")
    assert "/docs" in next(f for f in findings if f.id == "deploy.W006").message


def test_a_configured_app_passes_the_deploy_checks() -> None:
    assert run_checks(hardened(), deploy=True, settings=settings(**PRODUCTION)) == []


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"PLAIT_SECRET_KEY": "change-me-please-change-me-please-123"}, "deploy.E002"),
        ({"PLAIT_SECRET_KEY": "short"}, "deploy.E002"),
        ({"PLAIT_ALLOWED_HOSTS": "*"}, "deploy.W007"),
        ({"PLAIT_ALLOWED_HOSTS": ""}, "deploy.E003"),
        ({"PLAIT_API_DOCS": "1"}, "deploy.W006"),
        ({"PLAIT_DEBUG": "1"}, "deploy.E001"),
    ],
)
def test_each_production_setting_is_checked(environ: dict[str, str], expected: str) -> None:
    found = ids(run_checks(hardened(), deploy=True, settings=settings(**{**PRODUCTION, **environ})))
    assert found == [expected]


def test_hsts_turned_off_is_reported() -> None:
    app = App()
    app.add_middleware(SecurityHeadersMiddleware, hsts=False)
    app.add_middleware(HTTPSRedirectMiddleware)
    assert ids(run_checks(app, deploy=True, settings=settings(**PRODUCTION))) == ["deploy.W004"]


def test_silenced_checks_are_left_out() -> None:
    environ = {**PRODUCTION, "PLAIT_SILENCED_CHECKS": "deploy.W004,deploy.W005"}
    assert run_checks(App(), deploy=True, settings=settings(**environ)) == []


def test_cookies_and_trusted_origins_of_the_batteries() -> None:
    from plait.csrf import CSRF
    from plait.sessions import Sessions

    app = App()
    Sessions(app, secret_key=KEY, secure=False)
    CSRF(app, trusted_origins=["http://partner.example.com", "https://ok.example.com"])
    app.add_middleware(SecurityHeadersMiddleware)
    found = run_checks(app, deploy=True, settings=settings(**PRODUCTION))
    assert ids(found) == ["deploy.W005", "csrf.W001", "csrf.W002", "sessions.W001"]
    assert "http://partner.example.com" in found[2].message
    assert "never Secure" in found[3].message
    # Redirecting every request to HTTPS makes secure=None cookies always Secure.
    app = hardened()
    Sessions(app, secret_key=KEY)
    CSRF(app, trusted_origins=["https://ok.example.com"])
    assert run_checks(app, deploy=True, settings=settings(**PRODUCTION)) == []


def test_templates_that_do_not_autoescape_are_an_error(tmp_path: Path) -> None:
    from plait.templates import Templates

    app = App()
    Templates(app, tmp_path, autoescape=False)
    (finding,) = run_checks(app, settings=settings())
    assert (finding.id, finding.level) == ("templates.E001", "error")
    app = App()
    Templates(app, tmp_path)
    assert run_checks(app, settings=settings()) == []


def test_the_admin_over_plain_http_is_reported() -> None:
    from plait.admin import Admin
    from plait.db import Database

    app = App()
    Admin(app, Database(app, "sqlite+aiosqlite://"), csrf_required=False)
    app.add_middleware(SecurityHeadersMiddleware)
    found = run_checks(app, deploy=True, settings=settings(**PRODUCTION))
    assert ids(found) == ["deploy.W005", "admin.W001"]
    assert "/admin/" in found[1].message


def test_a_project_registers_its_own_checks() -> None:
    def backups(app: App, settings: Settings) -> Iterator[Finding]:
        yield Finding("shop.W001", "warning", "No backups", "set BACKUP_BUCKET")

    def broken(app: App, settings: Settings) -> list[Finding]:
        raise RuntimeError("boom")

    own = [Check(backups, deploy=True), Check(broken)]
    assert ids(run_checks(App(), settings=settings(), checks=own)) == ["plait.E002"]
    found = run_checks(App(), deploy=True, settings=settings(), checks=own)
    assert ids(found) == ["plait.E002", "shop.W001"]
    assert "boom" in found[0].message

    from plait import checks

    register(deploy=False)(backups)
    assert [check.function for check in checks._REGISTERED] == [backups]
    assert "shop.W001" in ids(run_checks(App(), settings=settings()))


def test_bad_settings_are_findings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAIT_API_DOCS", "maybe")
    (finding,) = run_checks(App())
    assert (finding.id, finding.level) == ("plait.E001", "error")
    assert "PLAIT_API_DOCS='maybe'" in finding.message


# ------------------------------------------------------------------------- migrations

DB_APP = """
from sqlalchemy.orm import Mapped, mapped_column

from plait import App
from plait.db import Database, Model


class CheckedGadget(Model):  # a table name no other test uses
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


app = App()
db = Database(app, "sqlite+aiosqlite:///{db}", migrations="{migrations}")
"""


@pytest.fixture
def invoke(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Result]]:
    monkeypatch.delenv("PLAIT_APP", raising=False)
    monkeypatch.setattr(cli, "check_port", lambda *args: None)
    path, modules = list(sys.path), set(sys.modules)
    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
        return runner.invoke(cli.main, list(args), env=env)

    yield invoke
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        if name.startswith("checked_"):
            del sys.modules[name]


def test_unapplied_migrations(invoke: Callable[..., Result], tmp_path: Path) -> None:
    source = DB_APP.format(db=tmp_path / "g.sqlite3", migrations=tmp_path / "migrations")
    (tmp_path / "checked_gadgets.py").write_text(source)
    spec = ["--app", "checked_gadgets:app", "--app-dir", str(tmp_path)]
    made = invoke("db", "makemigrations", *spec, "-m", "gadgets")
    assert made.exit_code == 0, made.output
    (tmp_path / "g.sqlite3").unlink()  # autogenerate made it: start from no database
    result = invoke("check", *spec)
    assert result.exit_code == 0, result.output
    assert "db.W001 (warning) The 'default' database has 1 unapplied migration(s)" in result.output
    assert "fix: run `plait db migrate --app APP`" in result.output
    assert not (tmp_path / "g.sqlite3").exists()  # checking created nothing
    deploy = invoke("check", "--deploy", *spec, env=PRODUCTION)
    assert deploy.exit_code == 1
    assert "db.E001 (error)" in deploy.output
    assert invoke("db", "migrate", *spec).exit_code == 0
    after = invoke("check", *spec)
    assert (after.exit_code, after.output) == (0, "plait check: no problems found (checks)\n")


def test_models_without_a_migration(invoke: Callable[..., Result], tmp_path: Path) -> None:
    # Migrations all applied, but a model (a battery's, or the app's own) got a table or a
    # column after the last `makemigrations`: requests that use it would fail.
    source = DB_APP.format(db=tmp_path / "m.sqlite3", migrations=tmp_path / "migrations")
    (tmp_path / "checked_parts.py").write_text(source.replace("CheckedGadget", "CheckedPart"))
    spec = ["--app", "checked_parts:app", "--app-dir", str(tmp_path)]
    assert invoke("db", "makemigrations", *spec, "-m", "parts").exit_code == 0
    assert invoke("db", "migrate", *spec).exit_code == 0
    clean = invoke("check", *spec)
    assert (clean.exit_code, clean.output) == (0, "plait check: no problems found (checks)\n")

    with sqlite3.connect(tmp_path / "m.sqlite3") as connection:
        connection.execute("ALTER TABLE checked_part DROP COLUMN name")
    column = invoke("check", *spec)
    assert column.exit_code == 0, column.output
    assert "db.W003 (warning) The models have tables or columns that no migration" in column.output
    assert "(checked_part.name)" in column.output
    assert "fix: run `plait db makemigrations --app APP`, then `plait db migrate`" in column.output

    with sqlite3.connect(tmp_path / "m.sqlite3") as connection:
        connection.execute("DROP TABLE checked_part")
    deploy = invoke("check", "--deploy", *spec, env=PRODUCTION)
    assert deploy.exit_code == 1
    assert "db.E003 (error)" in deploy.output
    assert "(checked_part)" in deploy.output


# ------------------------------------------------------------------------- the command


class Recorder:
    def __init__(self) -> None:
        self.calls: list[Any] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Recorder:
        self.calls.append((args, kwargs))
        return self


CHECKED_APP = """
from plait import App
from plait.templates import Templates

app = App()
Templates(app, ".", autoescape={autoescape})
"""


@pytest.mark.parametrize("autoescape", [True, False])
def test_run_checks_before_serving(
    invoke: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    autoescape: bool,
) -> None:
    import uvicorn

    (tmp_path / f"checked_{autoescape}.py").write_text(
        textwrap.dedent(CHECKED_APP.format(autoescape=autoescape))
    )
    recorder = Recorder()
    monkeypatch.setattr(uvicorn, "run", recorder)
    spec = [f"checked_{autoescape}:app", "--app-dir", str(tmp_path), "--server", "uvicorn"]
    result = invoke("run", *spec)
    if autoescape:
        assert result.exit_code == 0, result.output
        assert len(recorder.calls) == 1
        return
    assert result.exit_code == 1
    assert "plait: templates.E001 (error) HTML templates are not autoescaped" in result.output
    assert "the checks found 1 error(s), 0 warning(s)" in result.output
    assert recorder.calls == []
    skipped = invoke("run", *spec, "--skip-checks")
    assert skipped.exit_code == 0, skipped.output
    assert len(recorder.calls) == 1


def test_check_exit_codes(invoke: Callable[..., Result], tmp_path: Path) -> None:
    (tmp_path / "checked_plain.py").write_text("from plait import App\napp = App()\n")
    spec = ["checked_plain:app", "--app-dir", str(tmp_path)]
    clean = invoke("check", *spec)
    assert (clean.exit_code, clean.output) == (0, "plait check: no problems found (checks)\n")
    deploy = invoke("check", "--deploy", *spec, env={"PLAIT_DEBUG": "1"})
    assert deploy.exit_code == 1
    assert "deploy.E001 (error) DEBUG is on" in deploy.output
    assert "plait check: 3 error(s), 3 warning(s) (deploy checks)" in deploy.output
    warnings_only = invoke("check", "--deploy", *spec, env=PRODUCTION)
    assert warnings_only.exit_code == 0, warnings_only.output
    strict = invoke("check", "--deploy", "--fail-level", "warning", *spec, env=PRODUCTION)
    assert strict.exit_code == 1


# ------------------------------------------------------------------------- HTTPS redirect


def test_https_redirect_middleware() -> None:
    app = App()
    app.add_middleware(HTTPSRedirectMiddleware)

    @app.get("/where")
    def where() -> str:
        return "secure"

    with TestClient(app) as client:
        response = client.post("/where?a=1&b=2", follow_redirects=False)
        assert response.status_code == 308
        assert response.headers["location"] == "https://testserver/where?a=1&b=2"
    with TestClient(app, base_url="https://testserver") as client:
        assert client.get("/where").text == "secure"
    other = App()
    other.add_middleware(HTTPSRedirectMiddleware, https_port=8443)
    with TestClient(other) as client:
        location = client.get("/", follow_redirects=False).headers["location"]
        assert location == "https://testserver:8443/"
    with pytest.raises(ValueError, match="https_port"):
        HTTPSRedirectMiddleware(app, https_port=0)


PREFIXED_APP = """
from plait import App, Settings
from plait.middleware import HTTPSRedirectMiddleware, SecurityHeadersMiddleware


class ShopSettings(Settings):
    env_prefix = "SHOP_"


settings = ShopSettings.load(env_file=None)
app = App(allowed_hosts=settings.ALLOWED_HOSTS)
app.add_middleware(SecurityHeadersMiddleware)
app.add_middleware(HTTPSRedirectMiddleware)
"""


def test_the_apps_own_settings_are_checked(invoke: Callable[..., Result], tmp_path: Path) -> None:
    (tmp_path / "checked_prefixed.py").write_text(PREFIXED_APP)
    spec = ["checked_prefixed:app", "--app-dir", str(tmp_path)]
    environ = {"SHOP_" + key.removeprefix("PLAIT_"): value for key, value in PRODUCTION.items()}
    result = invoke("check", "--deploy", *spec, env=environ)
    assert (result.exit_code, result.output) == (
        0,
        "plait check: no problems found (deploy checks)\n",
    ), result.output
    del sys.modules["checked_prefixed"]  # imported again, with the new environment
    anyone = invoke("check", "--deploy", *spec, env={**environ, "SHOP_ALLOWED_HOSTS": "*"})
    assert "deploy.W007 (warning) ALLOWED_HOSTS allows any host" in anyone.output


def test_a_database_that_does_not_answer_is_a_warning_not_a_hang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    from plait.db import Database
    from plait.db import _checks as db_checks
    from plait.db.migrations import init

    monkeypatch.setattr(db_checks, "CONNECT_TIMEOUT", 0.5)
    init(tmp_path / "migrations")
    with socket.socket() as silent:  # listens, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        app = App()
        url = f"postgresql+asyncpg://nobody@127.0.0.1:{port}/nothing"
        Database(app, url, migrations=tmp_path / "migrations")
        (finding,) = run_checks(app, settings=settings())
    assert finding.id == "db.W002"
    assert "did not answer within 0.5 s" in finding.message
