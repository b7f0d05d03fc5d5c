"""Alembic's environment for this project's migrations.

The `plait db` commands run it (and so does `Database(app, auto_migrate=True)` at start-up):
it migrates the app's database to the app's models (its `Model.metadata`). Plain `alembic`
works too when PLAIT_APP names the app ("module:app").
"""

from alembic import context

from plait.db.migrations import run_migrations

run_migrations(context)
