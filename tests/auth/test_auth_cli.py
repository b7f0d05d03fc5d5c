"""``plait createsuperuser`` against an app's database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import textwrap
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from auth_services import SECRET, seed
from click.testing import CliRunner

from plait.auth import User, verify_password
from plait.auth._cli import createsuperuser
from plait.db import Database


@pytest.fixture
def app_spec(db_url: str, tmp_path: Path) -> str:
    """An app file with sessions, a database at ``db_url`` and auth; its tables created."""
    seed(db_url)
    module = tmp_path / f"authapp_{uuid.uuid4().hex[:8]}.py"
    module.write_text(
        textwrap.dedent(
            f"""
            from plait import App
            from plait.auth import Auth
            from plait.db import Database
            from plait.sessions import Sessions

            app = App()
            Sessions(app, secret_key={SECRET!r})
            db = Database(app, {db_url!r})
            Auth(app, db, secret_key={SECRET!r})
            """
        )
    )
    return f"{module}:app"


def users(db_url: str) -> list[User]:
    async def main() -> list[User]:
        db = Database(url=db_url)
        try:
            async with db.session() as session:
                return list(await session.scalars(sa.select(User).order_by(User.id)))
        finally:
            await db.disconnect()

    return asyncio.run(main())


def test_no_input(app_spec: str, db_url: str) -> None:
    result = CliRunner().invoke(
        createsuperuser,
        ["--app", app_spec, "--username", "admin", "--email", "admin@example.com", "--no-input"],
        env={"PLAIT_SUPERUSER_PASSWORD": "a long password"},
    )
    assert result.exit_code == 0, result.output
    assert "Superuser 'admin' created" in result.output
    [admin] = users(db_url)
    assert (admin.username, admin.email) == ("admin", "admin@example.com")
    assert (admin.is_staff, admin.is_superuser, admin.is_active) == (True, True, True)
    assert verify_password(admin.password, "a long password")


def test_prompts(app_spec: str, db_url: str) -> None:
    answers = "admin\nadmin@example.com\nshort\nshort\nn\na long password\na long password\n"
    result = CliRunner().invoke(createsuperuser, ["--app", app_spec], input=answers)
    assert result.exit_code == 0, result.output
    assert "too short" in result.output
    [admin] = users(db_url)
    assert admin.username == "admin"
    assert verify_password(admin.password, "a long password")


def test_refusals(app_spec: str, db_url: str) -> None:
    runner = CliRunner()
    base = ["--app", app_spec, "--no-input"]
    password = {"PLAIT_SUPERUSER_PASSWORD": "a long password"}
    missing_user = runner.invoke(createsuperuser, base, env=password)
    assert missing_user.exit_code == 2
    assert "--no-input needs --username" in missing_user.output
    no_password = runner.invoke(
        createsuperuser, [*base, "--username", "admin"], env={"PLAIT_SUPERUSER_PASSWORD": ""}
    )
    assert no_password.exit_code == 2
    assert "PLAIT_SUPERUSER_PASSWORD" in no_password.output
    weak = runner.invoke(
        createsuperuser, [*base, "--username", "admin"], env={"PLAIT_SUPERUSER_PASSWORD": "admin"}
    )
    assert weak.exit_code == 1
    assert "too short" in weak.output
    common = runner.invoke(
        createsuperuser,
        [*base, "--username", "admin"],
        env={"PLAIT_SUPERUSER_PASSWORD": "12345678"},
    )
    assert common.exit_code == 1
    assert "This password is too common. This password is entirely numeric." in common.output
    assert (
        runner.invoke(createsuperuser, [*base, "--username", "admin"], env=password).exit_code == 0
    )
    taken = runner.invoke(createsuperuser, [*base, "--username", "admin"], env=password)
    assert taken.exit_code == 1
    assert "'admin' is already taken" in taken.output
    assert len(users(db_url)) == 1


def test_missing_tables_get_a_hint(tmp_path: Path) -> None:
    module = tmp_path / f"authapp_{uuid.uuid4().hex[:8]}.py"
    module.write_text(
        "from plait import App\nfrom plait.db import Database\n"
        f"app = App()\nDatabase(app, 'sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}')\n"
    )
    result = CliRunner().invoke(
        createsuperuser,
        ["--app", f"{module}:app", "--username", "admin", "--no-input"],
        env={"PLAIT_SUPERUSER_PASSWORD": "a long password"},
    )
    assert result.exit_code == 1
    assert "plait db migrate" in result.output


def test_bad_app(tmp_path: Path) -> None:
    result = CliRunner().invoke(createsuperuser, ["--app", f"{tmp_path / 'missing.py'}:app"])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_registered_as_a_plait_command(monkeypatch: pytest.MonkeyPatch) -> None:
    import tomllib
    from importlib.metadata import EntryPoint

    from plait import cli

    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    commands = tomllib.loads(pyproject.read_text())["project"]["entry-points"]["plait.commands"]
    assert commands["createsuperuser"] == "plait.auth._cli:createsuperuser"
    point = EntryPoint("createsuperuser", commands["createsuperuser"], cli.ENTRY_POINT_GROUP)
    monkeypatch.setattr(cli, "_discover", lambda: [point])
    result = CliRunner().invoke(cli.main, ["createsuperuser", "--help"])
    assert result.exit_code == 0, result.output
    assert "--no-input" in result.output
    assert "PLAIT_SUPERUSER_PASSWORD" in result.output
