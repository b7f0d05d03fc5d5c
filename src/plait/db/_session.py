"""``Session``: the per-request database session, as a parameter type."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import sqlalchemy as sa
from sqlalchemy.exc import NoInspectionAvailable
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from plait import Depends, Request
from plait.db._database import Database
from plait.db._lending import lent_session_of
from plait.db._onestatement import commit_and_close
from plait.db._requestsession import RequestSession, untouched

__all__ = ["COMMITTED_AFTER_HANDLER", "Session", "get_session"]

COMMITTED_AFTER_HANDLER = "plait.committed_after_handler"
"""In the ``info`` of a session :func:`get_session` gives: it is committed (flushing what is
pending) when the handler returns, before its result becomes the response."""


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The dependency behind :data:`Session`: a session of the app's default database,
    committed when the handler returns, rolled back when it raises."""
    app = request.app
    if app is None:
        raise RuntimeError("Session needs the request's app (is it served by a plait App?)")
    # PERF: the session's commit, rollback and close written out here rather than through
    # ``Database.transaction()`` (one async context manager less per request), and the
    # commit and close of a request that succeeded run in one greenlet, not two.
    database = Database.of(app)
    user = request.scope.get("user")
    lent = lent_session_of(user, database) if user is not None else None
    # PERF: the signed-in user's session (plait.auth loaded the user in it) is continued:
    # one session and one pooled connection per request.
    if lent is not None:
        session = lent.take()
    elif database.bound_for_tests:
        session = database.new_session()
    else:
        session = RequestSession(database.engine, info={COMMITTED_AFTER_HANDLER: True})
    if untouched(session) is None:
        session.sync_session.info[COMMITTED_AFTER_HANDLER] = True
    adopted: tuple[Any, dict[str, Any]] | None = None
    try:
        if user is not None:
            adopted = _adopt_user(session, user)
        yield session
        # PERF: a session the handler never used (its reads went straight to the pool:
        # plait.db.read_one, read_all) has nothing to commit or close: no greenlet hop.
        if not untouched(session) and session.sync_session.get_transaction() is not None:
            await session.run_sync(commit_and_close)
    except BaseException:
        if untouched(session) is not None:
            raise  # nothing was begun, nothing to roll back
        try:
            await session.rollback()
        finally:
            await session.close()
        if adopted is not None:
            _restore_user(*adopted)
        raise


def _adopt_user(session: AsyncSession, user: Any) -> tuple[Any, dict[str, Any]] | None:
    """Let the signed-in user join this session, if it is not in it yet; the user and its
    loaded values, or ``None`` for an object that is no mapped row or is in another session.

    ``request.user`` is in the request's session already when plait.auth loaded it in the
    session lent to the request (see :class:`~plait.db.LentSession`); one loaded in a
    session closed since (a WebSocket's, a user of a middleware of the app's own) joins
    it here. Linking a row to it (``Post(author=user)``) or loading that user again then
    gives the same object; SQLAlchemy would otherwise refuse a second instance of the same
    row.
    """
    try:
        state = sa.inspect(user)
    except NoInspectionAvailable:
        return None
    if state.session is not None and state.session is not session.sync_session:
        return None
    columns = {prop.key for prop in state.mapper.column_attrs}
    snapshot = {key: value for key, value in state.dict.items() if key in columns}
    if state.detached:
        session.add(user)
    return user, snapshot


def _restore_user(user: Any, snapshot: dict[str, Any]) -> None:
    """After a rollback (which expires every object of the session, the user too): the
    user's values as loaded, so the error page's layout can still read
    ``current_user.username`` (it would raise instead, turning a 404 into a 500)."""
    state = sa.inspect(user)
    if not state.detached:
        return
    for key, value in snapshot.items():
        if key in state.expired_attributes or key not in state.dict:
            set_committed_value(user, key, value)


Session = Annotated[AsyncSession, Depends(get_session, scope="function")]
"""A handler parameter type giving one ``AsyncSession`` per request::

    @app.post("/articles", status_code=201)
    async def create(data: Article.Create, session: Session) -> Article.Read:
        article = Article(data)
        session.add(article)
        return article

The session is built on first use (a handler whose reads all go straight to the pool with
``read_one``/``read_all`` never builds it). It commits after the handler returns and
*before* the response is sent, so a failed
commit (a unique constraint, a lost connection) reaches the client as an error response
instead of a success followed by lost data (a commit whose flush is one statement sends it
alone, without ``BEGIN`` and ``COMMIT``). If the handler raises, it rolls back. Every
dependency asking for ``Session`` in the same request shares the same session. Tests
override ``get_session`` in ``app.dependency_overrides``, or use :mod:`plait.db.testing`.
"""
