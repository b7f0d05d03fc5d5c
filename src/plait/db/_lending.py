"""``LentSession``: a session a middleware opens for the request, which ``Session`` continues."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import NoInspectionAvailable
from sqlalchemy.ext.asyncio import AsyncSession

from plait.db._sqlite import in_transaction
from plait.types import Message, Send

if TYPE_CHECKING:
    from plait.db._database import Database

__all__ = ["LentSession", "lent_session_of"]

_LENT = "plait.db.lent"
"""The key of ``AsyncSession.info`` naming the :class:`LentSession` a session belongs to."""


class LentSession:
    """A session opened before the handler, for the request: the handler's
    :data:`~plait.db.Session` continues it, so the request uses one session and one pooled
    connection. plait.auth loads the signed-in user in one::

        lent = db.lend_session()
        try:
            user = await lent.session.get(User, user_id)
            if user is not None:
                await lent.loaded()
                scope["user"] = user   # how Session finds the lent session: user's own
                await app(scope, receive, lent.releasing(send))
        finally:
            await lent.release()

    ``Session`` takes the session over when ``scope["user"]`` belongs to it; otherwise it
    is released when the response starts (``releasing(send)``) or at :meth:`release`: what
    changed in it (``logout()`` bumping the user's session generation) is committed, and the
    connection goes back to the pool.
    """

    __slots__ = ("database", "done", "session", "taken")

    def __init__(self, database: Database) -> None:
        self.database = database
        self.session: AsyncSession = database.new_session()
        self.session.info[_LENT] = self
        self.taken = False
        """Whether a ``Session`` dependency continues it (and so commits and closes it)."""
        self.done = False

    async def loaded(self) -> None:
        """After the reads made before the handler: give the connection back to the pool,
        unless keeping it costs nothing. With ``lazy_begin`` (PostgreSQL on asyncpg, SQLite)
        plain reads open no transaction, so the connection is kept for the handler's
        queries (one checkout per request); once a transaction is open, it is committed and
        the connection given back, so that no lock or snapshot is held while the handler
        runs without it."""
        if _transaction_open(self.session, self.database):
            await self.session.commit()

    def releasing(self, send: Send) -> Send:
        """``send``, releasing the session before the first message (the response's start)
        if no ``Session`` took it: a route without one holds no connection while it streams."""

        async def release_then_send(message: Message) -> None:
            if not self.done:
                await self.release()
            await send(message)

        return release_then_send

    async def release(self, *, failed: bool = False) -> None:
        """Let the session go unless a ``Session`` dependency took it: commit what changed in
        it (``failed``: roll it back instead), then close it. Idempotent."""
        if self.done:
            return
        self.done = True
        if self.taken:
            return
        session = self.session
        try:
            if not failed and (session.dirty or session.new or session.deleted):
                await session.commit()
        finally:
            await session.close()

    def take(self) -> AsyncSession:
        """The session, for the ``Session`` dependency that continues it from now on."""
        self.taken = True
        return self.session


def lent_session_of(obj: Any, database: Database) -> LentSession | None:
    """The :class:`LentSession` of ``database`` that ``obj`` (``scope["user"]``) was loaded
    in, if it is still lent: neither taken by a ``Session`` nor released."""
    try:
        session = sa.inspect(obj).session
    except NoInspectionAvailable:
        return None
    if session is None:
        return None
    lent = session.info.get(_LENT)
    if not isinstance(lent, LentSession) or lent.database is not database:
        return None
    return None if lent.done or lent.taken else lent


def _transaction_open(session: AsyncSession, database: Database) -> bool:
    """Whether ``session`` holds a connection with a database transaction open. With lazy
    BEGIN (asyncpg, SQLite) plain reads open none: then only once another statement ran
    (asyncpg's adapter's ``_transaction``, sqlite3's ``in_transaction``). Always under a
    test's outer transaction (a SAVEPOINT), with ``lazy_begin=False`` or another driver."""
    sync_session = session.sync_session
    if sync_session.get_transaction() is None:
        return False  # nothing ran: no connection was checked out
    lazy = database.lazy_begin and (
        database.is_sqlite or database.url.get_driver_name() == "asyncpg"
    )
    if not lazy or database.bound_for_tests:
        return True
    # PERF: the connection the session holds already (no IO), and a flag of its driver's.
    pooled: Any = sync_session.connection().connection
    if database.is_sqlite:
        return in_transaction(pooled)
    return getattr(pooled.dbapi_connection, "_transaction", True) is not None
