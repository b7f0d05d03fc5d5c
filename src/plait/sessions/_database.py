"""``DatabaseStore``: sessions in a table of the app's database (plait.db)."""

from __future__ import annotations

import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from plait.db import Database, Model
from plait.sessions._stores import SessionStore, decode, encode

__all__ = ["DatabaseStore", "SessionRecord"]


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class SessionRecord(Model):
    """One stored session: table ``plait_session`` (created by your migrations once
    :class:`DatabaseStore` is imported, like Django's ``django_session``)."""

    __tablename__ = "plait_session"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    data: Mapped[str] = mapped_column(sa.Text)
    expires_at: Mapped[datetime.datetime] = mapped_column(sa.DateTime(timezone=True), index=True)


class DatabaseStore(SessionStore):
    """Sessions in the ``plait_session`` table of a :class:`plait.db.Database`::

        from plait.sessions import DatabaseStore, Sessions

        db = Database(app)
        Sessions(app, store=DatabaseStore(db))

    Expired rows are never read; delete them now and then with :meth:`clear_expired` (a
    scheduled job, like Django's ``clearsessions``). A database that belongs to no app
    (``Database(url=...)``) is disconnected by the store at shutdown.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    async def load(self, key: str) -> dict[str, Any] | None:
        query = sa.select(SessionRecord.data).where(
            SessionRecord.key == key, SessionRecord.expires_at > _now()
        )
        async with self.db.session() as session:
            raw = await session.scalar(query)
        return None if raw is None else decode(raw)

    async def save(self, key: str, data: dict[str, Any], max_age: int) -> str:
        record = SessionRecord(
            key=key,
            data=encode(data).decode(),
            expires_at=_now() + datetime.timedelta(seconds=max_age),
        )
        async with self.db.transaction() as session:
            await session.merge(record)
        return key

    async def delete(self, key: str) -> None:
        async with self.db.transaction() as session:
            await session.execute(sa.delete(SessionRecord).where(SessionRecord.key == key))

    async def clear_expired(self) -> int:
        """Delete the expired sessions; return how many there were."""
        async with self.db.transaction() as session:
            result = await session.execute(
                sa.delete(SessionRecord).where(SessionRecord.expires_at <= _now())
            )
        return int(getattr(result, "rowcount", 0) or 0)

    async def close(self) -> None:
        if self.db.app is None:
            await self.db.disconnect()
