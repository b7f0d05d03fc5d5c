"""What the data layer adds to ``plait shell``: every model, the app's databases and a
session on the default one (closed when the shell ends), and ``select``."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from plait.db._model import Model

if TYPE_CHECKING:
    from plait._app import App
    from plait.db._database import Database

__all__ = ["models", "shell_namespace"]


def models() -> dict[str, type]:
    """Every mapped model class by name (the first of two with one name); a class whose
    mapping failed (its module imported twice, say) is left out."""
    found: dict[str, type] = {}
    stack: list[type] = list(Model.__subclasses__())
    while stack:
        cls = stack.pop(0)
        stack.extend(cls.__subclasses__())
        try:
            mapped = sa.inspect(cls, raiseerr=False) is not None
        except sa.exc.SQLAlchemyError:
            mapped = False
        if mapped:
            found.setdefault(cls.__name__, cls)
    return found


@contextlib.asynccontextmanager
async def shell_namespace(app: App) -> AsyncIterator[dict[str, Any]]:
    namespace: dict[str, Any] = {"select": sa.select, "func": sa.func, **models()}
    databases: dict[str, Database] = getattr(app.state, "databases", {})
    db = databases.get("default") or next(iter(databases.values()), None)
    if db is None:
        yield namespace
        return
    session = db.new_session()
    namespace.update(db=db, session=session)
    try:
        yield namespace
    finally:
        await session.close()
        await db.disconnect()
