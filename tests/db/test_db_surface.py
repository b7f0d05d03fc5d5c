"""The data layer's public surface is deliberate, and the core never imports it."""

from __future__ import annotations

import subprocess
import sys

import plait.db
import plait.db.migrations
import plait.db.testing

PUBLIC = [
    "MAX_OFFSET",
    "MAX_PAGE_SIZE",
    "NAMING_CONVENTION",
    "POOL_SIZE",
    "POOL_TIMEOUT",
    "Database",
    "EmailType",
    "KeysetPage",
    "LentSession",
    "Limit",
    "MissingDependencyError",
    "Model",
    "Offset",
    "OffsetPage",
    "Page",
    "PageNumber",
    "PageSize",
    "Relation",
    "SchemaOptions",
    "Session",
    "URLType",
    "UTCDateTime",
    "Violation",
    "apply",
    "bulk_create",
    "bulk_update",
    "count",
    "crud_router",
    "describe_integrity_error",
    "exists",
    "get_or_404",
    "get_session",
    "install_error_handlers",
    "load_options",
    "model_schema",
    "paginate",
    "paginate_keyset",
    "read_all",
    "read_one",
    "sqlstate",
    "values",
]


def test_public_names() -> None:
    assert plait.db.__all__ == PUBLIC
    for name in PUBLIC:
        assert getattr(plait.db, name) is not None
    assert plait.db.testing.__all__ == ["RolledBack", "rolled_back"]
    assert "makemigrations" in plait.db.migrations.__all__


def test_public_objects_are_documented() -> None:
    for name in PUBLIC:
        obj = getattr(plait.db, name)
        if callable(obj) and not isinstance(obj, int | str | dict):
            assert obj.__doc__, name


def test_the_core_imports_no_battery() -> None:
    code = (
        "import sys, plait, plait.cli, plait.testing\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'alembic')"
        " or m.startswith('plait.db')]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_settings_are_core() -> None:
    from plait import Settings

    assert Settings.__module__ == "plait._settings"
