"""Migrations from Python: what the ``plait db`` commands call, and the ``env.py`` hook.

::

    from plait.db import migrations

    migrations.makemigrations(db, "add articles")
    migrations.migrate(db)             # to the latest
    migrations.downgrade(db, "base")   # undo them all
"""

from plait.db._migrations import (
    current,
    downgrade,
    has_migrations,
    history,
    init,
    make_config,
    makemigrations,
    migrate,
    run_migrations,
    upgrade_async,
)

__all__ = [
    "current",
    "downgrade",
    "has_migrations",
    "history",
    "init",
    "make_config",
    "makemigrations",
    "migrate",
    "run_migrations",
    "upgrade_async",
]
