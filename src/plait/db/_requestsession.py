"""``RequestSession``: the ``Session`` dependency's ``AsyncSession``, made on first use."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

__all__ = ["RequestSession", "untouched"]


class RequestSession(AsyncSession):
    """An ``AsyncSession`` (``expire_on_commit=False``) on ``engine`` whose SQLAlchemy
    session is built the first time anything of it is used.

    PERF: building an ``AsyncSession`` costs about 17 µs (the ORM session, its identity map,
    its event dispatch): a third of what a one-row read costs the raw asyncpg app. A handler
    that only reads rows into schemas (``read_one``, ``read_all``: they take a pooled
    connection while the session is untouched) never needs it.
    """

    def __init__(self, engine: AsyncEngine, info: dict[str, Any] | None = None) -> None:
        # The rest on first use: ``info`` becomes the SQLAlchemy session's.
        self._plait_engine: AsyncEngine | None = engine
        self._plait_info = info

    def __getattr__(self, name: str) -> Any:
        # Reached only for what the instance and its class lack: before the first use,
        # everything AsyncSession's __init__ sets (sync_session, _proxied, ...).
        engine = self.__dict__.get("_plait_engine")
        if engine is None:
            raise AttributeError(name)
        self._plait_engine = None
        AsyncSession.__init__(self, engine, expire_on_commit=False, info=self._plait_info)
        return getattr(self, name)


def untouched(session: AsyncSession) -> AsyncEngine | None:
    """The engine of a :class:`RequestSession` nothing has used yet, else ``None``."""
    engine: AsyncEngine | None = session.__dict__.get("_plait_engine")
    return engine
