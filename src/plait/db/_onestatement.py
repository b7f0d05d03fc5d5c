"""One-statement commits: a transaction of a single write needs no ``BEGIN`` nor ``COMMIT``.

A request that writes one row (a create, an update, a delete) and has written nothing
before its commit sends that one statement in autocommit: the database applies it
atomically on its own, as a hand-written asyncpg app (and Django, in its default autocommit
mode) does. Anything else keeps its transaction.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import MANYTOONE

from plait.db._lazybegin import ONE_STATEMENT
from plait.db._model import resolve_relations
from plait.db._relations import has_pending_relations

__all__ = ["commit_and_close", "flush_is_one_statement"]

_MAPPER_EVENTS = (
    "before_insert",
    "after_insert",
    "before_update",
    "after_update",
    "before_delete",
    "after_delete",
)
_SESSION_EVENTS = ("before_commit", "before_flush", "after_flush", "after_flush_postexec")


def flush_is_one_statement(session: sa.orm.Session) -> sa.orm.Mapper[Any] | None:
    """The mapper of the one object ``session`` would flush with a single statement, or
    ``None`` when the flush may send several (or none, or the session can't tell).

    Conservative: one object new, changed or deleted (a deleted one with no relationship but
    many-to-one ones); a model of one table; no relationship change but a many-to-one to a
    row already stored (only its key column is written); no
    keys of related rows waiting to become rows (``Relation()``); and no listener that could
    write too (mapper insert/update/delete events, the session's flush and commit events
    but plait's own).
    """
    new, dirty, deleted = session.new, session.dirty, session.deleted
    if len(new) + len(dirty) + len(deleted) != 1:
        return None
    obj = next(iter(new or deleted or dirty))
    state: sa.orm.InstanceState[Any] = sa.inspect(obj)
    mapper: sa.orm.Mapper[Any] = state.mapper
    if len(mapper.tables) != 1 or has_pending_relations(obj):
        return None
    for rel in mapper.relationships:
        if deleted and rel.direction is not MANYTOONE:
            # Deleting the row also writes its collections' rows (a many-to-many's
            # association rows, children's foreign keys) in statements of their own.
            return None
        history = state.attrs[rel.key].history
        if not history.has_changes():
            continue
        if rel.direction is not MANYTOONE or rel.post_update or rel.secondary is not None:
            return None
        if any(not sa.inspect(target).persistent for target in history.added if target):
            return None
    if any(getattr(mapper.dispatch, name) for name in _MAPPER_EVENTS):
        return None
    for name in _SESSION_EVENTS:
        if any(listener is not resolve_relations for listener in getattr(session.dispatch, name)):
            return None
    return mapper


def commit_and_close(session: sa.orm.Session) -> None:
    """Commit ``session`` (in a one-statement transaction when its flush is one write on
    PostgreSQL: no ``BEGIN``, no ``COMMIT``), then close it.

    PERF: a create through the ``Session`` dependency was three round trips (``BEGIN``,
    ``INSERT ... RETURNING``, ``COMMIT``), now one.
    """
    mapper = flush_is_one_statement(session)
    if mapper is None:
        session.commit()
    else:
        # Set in place: the flush's statement runs on this connection with this option.
        connection = session.connection(bind_arguments={"mapper": mapper})
        connection.execution_options(**{ONE_STATEMENT: True})
        try:
            session.commit()
        finally:  # a test's connection (plait.db.testing) outlives the session
            connection.execution_options(**{ONE_STATEMENT: False})
    session.close()
