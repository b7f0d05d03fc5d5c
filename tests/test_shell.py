"""``plait shell``: fed through a pipe, as a user's terminal would feed it."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from plait import cli

APP = """
from sqlalchemy.orm import Mapped, mapped_column

from plait import App, Settings
from plait.db import Database, Model


class Gizmo(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


class ShopSettings(Settings):
    secret_key_required = False
    GREETING: str = "hello"


settings = ShopSettings.load(env_file=None)
app = App(title="gizmos")
db = Database(app, "sqlite+aiosqlite:///gizmos.sqlite3")
"""

INPUT = """\
print(app.title, settings.GREETING, type(session).__name__)
await db.create_all()
session.add(Gizmo(name="sprocket"))
await session.commit()
await session.scalar(select(func.count()).select_from(Gizmo))
1 / 0
[g.name for g in await session.scalars(select(Gizmo))]
"""


def shell(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAIT_")}
    command = [sys.executable, "-m", "plait", "shell", "gizmos:app", "--interface", "python"]
    return subprocess.run(
        [*command, *args],
        cwd=tmp_path,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_repl_has_the_app_models_and_a_session(tmp_path: Path) -> None:
    (tmp_path / "gizmos.py").write_text(APP)
    done = shell(tmp_path, stdin=INPUT)
    assert done.returncode == 0, done.stderr
    assert "top-level await works" in done.stderr
    assert "Loaded: Gizmo, app, db, func, select, session, settings" in done.stderr
    assert "gizmos hello AsyncSession" in done.stdout
    assert ">>> 1\n" in done.stdout  # the awaited count, echoed like any expression
    assert "ZeroDivisionError" in done.stderr  # an error is shown, and the shell goes on
    assert "['sprocket']" in done.stdout
    assert "Traceback" not in done.stderr.split("ZeroDivisionError")[1]
    # -c runs code and exits; what the piped session committed is in the database.
    counted = shell(
        tmp_path, "-c", "print(await session.scalar(select(func.count()).select_from(Gizmo)))"
    )
    assert (counted.returncode, counted.stdout) == (0, "1\n"), counted.stderr
    failed = shell(tmp_path, "-c", "await session.get(Gizmo, 1 / 0)")
    assert failed.returncode == 1
    assert "ZeroDivisionError" in failed.stderr


def test_ipython_when_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[dict[str, Any]] = []
    fake = types.ModuleType("IPython")
    fake.start_ipython = lambda argv, user_ns: started.append(user_ns)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", fake)
    (tmp_path / "plain_shell_app.py").write_text("from plait import App\napp = App(title='t')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    result = CliRunner().invoke(cli.main, ["shell", "plain_shell_app:app"])
    assert result.exit_code == 0, result.output
    assert "plait shell (IPython" in result.output
    (namespace,) = started
    assert namespace["app"].title == "t"
    assert "settings" in namespace
    monkeypatch.delitem(sys.modules, "plain_shell_app")
