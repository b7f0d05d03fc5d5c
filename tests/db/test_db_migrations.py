"""Migrations: ``plait db`` round-trips a project's models on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from sqlalchemy import text

from plait import App
from plait.db import Database, Session
from plait.db._cli import db as db_command
from plait.testing import TestClient

HEADER = """
from sqlalchemy import ForeignKey, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from plait import App
from plait.db import NAMING_CONVENTION, Database


class Base(DeclarativeBase):  # a base of its own: each version of this file is a new project
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
"""

FOOTER = """
app = App()
db = Database(app, metadata=Base.metadata)  # the URL comes from PLAIT_DATABASE_URL
"""

V1 = """
class Article(Base):
    __tablename__ = "article"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
"""

V2 = """
class Author(Base):
    __tablename__ = "author"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class Article(Base):
    __tablename__ = "article"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200), index=True)
    summary: Mapped[str | None] = mapped_column(String(500))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("author.id"))
"""

V3 = V2.replace("summary:", "abstract:")

RENAME_UP = """\
    with op.batch_alter_table("article") as batch:
        batch.alter_column("summary", new_column_name="abstract")"""
RENAME_DOWN = """\
    with op.batch_alter_table("article") as batch:
        batch.alter_column("abstract", new_column_name="summary")"""


class Project:
    """A user's project in a temporary directory, driven through ``plait db``."""

    def __init__(self, root: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.url = url
        self.runner = CliRunner()
        monkeypatch.chdir(root)
        monkeypatch.setenv("PLAIT_APP", "project_app:app")
        monkeypatch.setenv("PLAIT_DATABASE_URL", url)
        monkeypatch.syspath_prepend(str(root))

    def write(self, models: str) -> None:
        (self.root / "project_app.py").write_text(HEADER + models + FOOTER)
        sys.modules.pop("project_app", None)  # the CLI imports the new version

    def run(self, *args: str, ok: bool = True) -> Result:
        sys.modules.pop("project_app", None)
        result = self.runner.invoke(db_command, list(args), catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    def versions(self) -> list[Path]:
        return sorted((self.root / "migrations" / "versions").glob("*.py"))

    def sql(self, statement: str) -> Any:
        database = Database(url=self.url)
        return database.run(lambda session: session.execute(text(statement)))

    def columns(self, table: str) -> set[str]:
        database = Database(url=self.url)

        async def inspect(session: Any) -> set[str]:
            connection = await session.connection()
            names: set[str] = await connection.run_sync(
                lambda sync: {c["name"] for c in sa.inspect(sync).get_columns(table)}
            )
            return names

        result: set[str] = database.run(inspect)
        return result

    def tables(self) -> set[str]:
        database = Database(url=self.url)

        async def inspect(session: Any) -> set[str]:
            connection = await session.connection()
            names: set[str] = await connection.run_sync(
                lambda sync: set(sa.inspect(sync).get_table_names())
            )
            return names

        result: set[str] = database.run(inspect)
        return result

    def indexes(self, table: str) -> set[str]:
        database = Database(url=self.url)

        async def inspect(session: Any) -> set[str]:
            connection = await session.connection()
            names: set[str] = await connection.run_sync(
                lambda sync: {str(i["name"]) for i in sa.inspect(sync).get_indexes(table)}
            )
            return names

        result: set[str] = database.run(inspect)
        return result


@pytest.fixture
def project(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    yield Project(tmp_path, db_url, monkeypatch)
    sys.modules.pop("project_app", None)


def test_round_trip(project: Project) -> None:
    # 1. A first model, its migration, applied.
    project.write(V1)
    made = project.run("makemigrations", "-m", "create articles")
    assert "Creating the migrations directory migrations" in made.output
    assert (project.root / "migrations" / "env.py").is_file()
    assert len(project.versions()) == 1
    project.run("migrate")
    assert project.columns("article") == {"id", "title"}
    project.sql("INSERT INTO article (id, title) VALUES (1, 'kept')")

    # 2. Add a column, an index and a foreign key (to a new table).
    project.write(V2)
    assert "Run `plait db migrate` first" not in project.run("makemigrations", "-m", "more").output
    project.run("migrate")
    assert project.columns("article") == {"id", "title", "summary", "author_id"}
    assert "ix_article_title" in project.indexes("article")
    project.sql("UPDATE article SET summary = 'short' WHERE id = 1")

    # 3. A rename: autogenerate would drop and add, so it is written by hand.
    project.write(V3)
    project.run("makemigrations", "--empty", "-m", "rename summary")
    (rename,) = [path for path in project.versions() if path.name.endswith("_rename_summary.py")]
    source = rename.read_text()
    source = source.replace(
        "def upgrade() -> None:\n    pass", f"def upgrade() -> None:\n{RENAME_UP}"
    )
    source = source.replace(
        "def downgrade() -> None:\n    pass", f"def downgrade() -> None:\n{RENAME_DOWN}"
    )
    rename.write_text(source)
    project.run("migrate")
    assert project.columns("article") == {"id", "title", "abstract", "author_id"}
    assert list(project.sql("SELECT abstract FROM article WHERE id = 1")) == [("short",)]
    # The models and the database now agree.
    assert "No changes detected" in project.run("makemigrations", "-m", "nothing").output
    assert len(project.versions()) == 3

    history = project.run("history").output
    assert "rename summary" in history
    assert "(head)" in history
    assert "(head)" in project.run("current").output

    # 4. All the way back down.
    project.run("downgrade")
    assert "summary" in project.columns("article")
    project.run("downgrade", "base")
    assert project.tables() <= {"alembic_version"}


def test_makemigrations_needs_an_up_to_date_database(project: Project) -> None:
    project.write(V1)
    project.run("makemigrations", "-m", "one")
    result = project.run("makemigrations", "-m", "two", ok=False)
    assert result.exit_code == 1
    assert "Target database is not up to date" in result.output
    assert "Run `plait db migrate` first" in result.output


def test_commands_without_migrations_say_what_to_do(project: Project) -> None:
    project.write(V1)
    for command in ("migrate", "downgrade", "history", "current"):
        result = project.run(command, ok=False)
        assert result.exit_code == 1
        assert "No migrations in migrations: run `plait db makemigrations" in result.output


def test_app_errors_are_usage_errors(project: Project) -> None:
    project.write(V1)
    result = project.run("history", "--app", "project_app:nope", ok=False)
    assert result.exit_code == 2
    assert "has no attribute 'nope'" in result.output
    result = project.run("history", "--database", "other", ok=False)
    assert "No database named 'other'" in result.output


def test_auto_migrate_applies_migrations_at_start_up(project: Project) -> None:
    project.write(V1)
    project.run("makemigrations", "-m", "create articles")
    app = App()
    from project_app import Base  # type: ignore[import-not-found]

    Database(app, project.url, metadata=Base.metadata, auto_migrate=True)

    @app.get("/")
    async def index(session: Session) -> int:
        return len((await session.execute(text("SELECT * FROM article"))).all())

    with TestClient(app) as client:
        assert client.get("/").json() == 0
    assert "(head)" in project.run("current").output


def test_plait_db_is_a_plait_command(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "plait", "db", "--help"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for command in ("makemigrations", "migrate", "downgrade", "history", "current"):
        assert command in result.stdout


MODEL_PROJECT = """
import datetime

from sqlalchemy import ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from plait import App
from plait.db import Database, Model


class MigratedNoteX(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime.datetime] = mapped_column(server_default=func.now())


class MigratedCommentX(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(ForeignKey(MigratedNoteX.id))


app = App()
db = Database(app)
"""


def test_migrations_hold_nothing_of_the_machine_that_made_them(
    project: Project, caplog: pytest.LogCaptureFixture
) -> None:
    # plait's own Model (whose tables remember where they were defined), on both databases.
    backend = project.url.split(":")[0].split("+")[0].capitalize()
    (project.root / "project_app.py").write_text(MODEL_PROJECT.replace("X", backend))
    with caplog.at_level("DEBUG"):
        made = project.run("makemigrations", "-m", "notes")
    (migration,) = project.versions()
    source = migration.read_text()
    assert "migrated_note_" in source
    for machine_specific in (str(project.root), str(Path.home()), str(Path(__file__).parents[2])):
        assert machine_specific not in source
    assert "defined_by" not in source
    assert "info=" not in source
    assert "import plait" not in source
    assert "plait." not in source  # no plait type: an old migration survives a new plait
    assert "sa.DateTime(timezone=True)" in source  # Mapped[datetime]: UTCDateTime
    # PostgreSQL: no "Detected sequence named … assuming SERIAL" for each table.
    said = made.output + caplog.text
    assert "assuming SERIAL" not in said
    project.run("migrate")
    assert "No changes detected" in project.run("makemigrations", "-m", "again").output
    assert "assuming SERIAL" not in caplog.text
