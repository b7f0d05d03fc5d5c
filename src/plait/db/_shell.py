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

__all__ = ["shell_namespace"]


@contextlib.asynccontextmanager
async def shell_namespace(app: App) -> AsyncIterator[dict[str, Any]]:
    namespace: dict[str, Any] = {"select": sa.select, "func": sa.func}
    for mapper in Model.registry.mappers:
        namespace.setdefault(mapper.class_.__name__, mapper.class_)
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
