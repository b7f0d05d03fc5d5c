"""``plait shell``: fed through a pipe, as a user's terminal would feed it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


IPYTHON = """
import sys
import types

from click.testing import CliRunner

from plait.cli import main

started = []
fake = types.ModuleType("IPython")
fake.start_ipython = lambda argv, user_ns: started.append(user_ns)
sys.modules["IPython"] = fake
result = CliRunner().invoke(main, ["shell", "gizmos:app"])
assert result.exit_code == 0, result.output
assert "plait shell (IPython" in result.output, result.output
(namespace,) = started
print(namespace["app"].title, sorted(namespace))
"""


def test_ipython_when_installed(tmp_path: Path) -> None:
    (tmp_path / "gizmos.py").write_text(APP)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAIT_")}
    done = subprocess.run(
        [sys.executable, "-c", IPYTHON],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    names = ["Gizmo", "app", "db", "func", "select", "session", "settings"]
    assert done.stdout == f"gizmos {names}\n"
