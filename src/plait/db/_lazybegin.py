"""Lazy BEGIN: a PostgreSQL transaction opens at the first statement that may write.

A request that only reads then costs one round trip to the database (its SELECT), as in a
hand-written asyncpg app, instead of three (BEGIN, SELECT, COMMIT).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

__all__ = ["ONE_STATEMENT", "SNAPSHOT_FREE", "install_lazy_begin", "plain_read"]

SNAPSHOT_FREE = (None, "read_committed", "autocommit")
"""The asyncpg adapter's isolation settings under which a plain SELECT sees the same rows
inside a transaction as outside one (READ COMMITTED takes a snapshot per statement)."""

ONE_STATEMENT = "plait_one_statement"
"""An execution option of a session's connection while its commit flushes a single
statement (:mod:`plait.db._onestatement`): that write then goes without a transaction."""


def plain_read(context: Any) -> bool:
    """Whether the statement about to run is a ``select()`` that neither locks nor writes,
    read all at once (asyncpg opens a server-side cursor only inside a transaction): one
    that may run outside a transaction (here, and on SQLite in :mod:`plait.db._sqlite`)."""
    if context is None or context._is_server_side:
        return False
    compiled = context.compiled
    # Driver SQL and text() may write; so may a CTE (INSERT ... RETURNING in a WITH).
    if compiled is None or getattr(compiled, "ctes", None):
        return False
    statement = compiled.statement
    return isinstance(statement, sa.Select) and statement._for_update_arg is None


def install_lazy_begin(engine: Engine) -> None:
    """Run plain reads of ``engine`` (asyncpg) outside a transaction until one is needed.

    PERF: SQLAlchemy's asyncpg adapter sends BEGIN before the first statement of a
    connection's transaction, and COMMIT at its end: two round trips a read-only request
    does not need (a one-row read through the ``Session`` dependency wrote three times to
    the socket, the raw asyncpg app once). Here the adapter is put in autocommit for a
    plain ``select()`` while no transaction is open, and back before any other statement
    (an INSERT, a flush, a ``SAVEPOINT``, ``FOR UPDATE``, text SQL, a streamed read),
    which then opens the transaction as before; COMMIT and ROLLBACK are sent only if one
    was opened. Under READ COMMITTED (PostgreSQL's default) each SELECT takes its own
    snapshot in a transaction too, so a read sees the same rows either way; REPEATABLE READ
    and SERIALIZABLE keep every read in the transaction. Once a transaction is open, every
    statement runs in it (the flag is only read when one starts).

    PERF: the dialect's ``do_execute`` events, not the engine's ``before_cursor_execute``:
    any engine-level listener makes every execute, begin, commit and checkin dispatch the
    engine's other events too (about 50 more Python calls per one-row request).
    """

    def decide(cursor: Any, context: Any) -> None:
        adapter: Any = context.root_connection.connection.dbapi_connection
        if getattr(adapter, "_isolation_setting", None) in SNAPSHOT_FREE:
            # A commit's one statement (plait.db._onestatement) is its own transaction.
            adapter.autocommit = plain_read(context) or (
                adapter._transaction is None and context.execution_options.get(ONE_STATEMENT, False)
            )

    def do_execute(cursor: Any, statement: str, parameters: Any, context: Any) -> None:
        decide(cursor, context)

    def do_execute_no_params(cursor: Any, statement: str, context: Any) -> None:
        decide(cursor, context)

    def do_executemany(cursor: Any, statement: str, parameters: Any, context: Any) -> None:
        adapter: Any = context.root_connection.connection.dbapi_connection
        if getattr(adapter, "_isolation_setting", None) in SNAPSHOT_FREE:
            adapter.autocommit = False  # many rows at once: always a write

    sa.event.listen(engine, "do_execute", do_execute)
    sa.event.listen(engine, "do_execute_no_params", do_execute_no_params)
    sa.event.listen(engine, "do_executemany", do_executemany)
