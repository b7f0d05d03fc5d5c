"""SQLite's connections: PRAGMAs, a busy timeout, and ``BEGIN IMMEDIATE`` at the first write.

A deferred transaction (SQLite's and the sqlite3 module's default) that reads and then writes
must upgrade its read lock to a write lock; while another connection writes, SQLite refuses
that at once with "database is locked", without waiting for the busy timeout (waiting could
deadlock). Under concurrent requests that read then write, some failed (503). Here a
transaction begins with ``BEGIN IMMEDIATE``, which takes the write lock up front and waits
for it (the busy timeout), at the first statement that may write; plain reads before it run
outside any transaction, so a read-only request never waits for a writer (in WAL mode,
plait's default, readers and the writer do not block each other at all).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from plait.db._lazybegin import ONE_STATEMENT, plain_read

__all__ = [
    "SQLITE_PRAGMAS",
    "SQLITE_TIMEOUT",
    "in_transaction",
    "install_sqlite",
    "sqlite_connect_args",
]

SQLITE_TIMEOUT = 5.0
"""Seconds a connection waits for another's write lock (SQLite's busy timeout; the
``timeout`` of :func:`sqlite3.connect`, as in Django) before "database is locked", which
plait answers with a 503 and ``Retry-After``."""

SQLITE_PRAGMAS: Mapping[str, str | int] = {"journal_mode": "WAL"}
"""PRAGMAs run on each new connection to a SQLite file (``foreign_keys`` besides). WAL lets
reads go on while one connection writes, and a commit writes the log once."""


def sqlite_connect_args(connect_args: Mapping[str, Any] | None) -> dict[str, Any]:
    """``connect_args`` with plait's busy timeout unless the caller set one."""
    return {"timeout": SQLITE_TIMEOUT, **(connect_args or {})}


def install_sqlite(
    engine: Engine,
    *,
    foreign_keys: bool = True,
    pragmas: Mapping[str, str | int | None] | None = None,
    lazy_begin: bool = True,
) -> None:
    """Set up ``engine``'s SQLite connections (sync ``pysqlite`` or async ``aiosqlite``).

    - Each new connection runs ``PRAGMA foreign_keys`` and ``pragmas`` (a ``None`` value
      skips a PRAGMA: ``{"journal_mode": None}`` leaves the file's mode as it is), and
      leaves transactions to plait (the sqlite3 module's implicit ``BEGIN`` off), so that
      DDL is transactional and savepoints work.
    - A transaction begins with ``BEGIN IMMEDIATE`` at the first statement that may write
      (with ``lazy_begin=False``, at its first statement, reads included: a request's reads
      then share its snapshot, and read-only requests wait for writers too).
    - A connection goes back to the pool without a ``ROLLBACK`` unless SQLite says a
      transaction is open (the pool's own reset-on-return is turned off by the caller).

    PERF: every call into aiosqlite is a hop to the connection's thread and back (about
    30 µs of CPU); a statement through SQLAlchemy costs four (cursor, execute, fetchall,
    close). A read-only request no longer sends ``BEGIN`` (three hops: the
    ``exec_driver_sql`` the "begin" event needed) nor the pool's ``ROLLBACK`` after its
    commit (one); ``BEGIN IMMEDIATE`` goes through the statement's own cursor (one hop).
    The dialect's ``do_execute`` events, not engine events: see :mod:`plait.db._lazybegin`.
    """
    statements = [f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}"]
    statements += [f"PRAGMA {name}={value}" for name, value in (pragmas or {}).items() if value]

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for statement in statements:
            try:
                cursor.execute(statement)
            except sqlite3.OperationalError as exc:
                # A read-only database keeps its journal mode (setting WAL writes the file).
                if "readonly" not in str(exc) or not statement.startswith("PRAGMA journal_mode"):
                    raise
        cursor.close()

    @sa.event.listens_for(engine, "reset")
    def _reset(dbapi_connection: Any, record: Any, state: Any) -> None:
        if state.asyncio_safe and not state.transaction_was_reset and in_transaction(record):
            dbapi_connection.rollback()

    def begin(cursor: Any, context: Any) -> None:
        options = context.execution_options
        if (
            (not lazy_begin or not plain_read(context))
            and options.get("isolation_level") != "AUTOCOMMIT"
            # A commit's one statement (plait.db._onestatement) is its own transaction.
            and not (lazy_begin and options.get(ONE_STATEMENT))
            and not in_transaction(context.root_connection.connection)
        ):
            cursor.execute("BEGIN IMMEDIATE")

    def do_execute(cursor: Any, statement: str, parameters: Any, context: Any) -> None:
        begin(cursor, context)

    def do_execute_no_params(cursor: Any, statement: str, context: Any) -> None:
        begin(cursor, context)

    sa.event.listen(engine, "do_execute", do_execute)
    sa.event.listen(engine, "do_execute_no_params", do_execute_no_params)
    sa.event.listen(engine, "do_executemany", do_execute)


def in_transaction(connection: Any) -> bool:
    """Whether SQLite has a transaction open on a pooled connection (a pool record or a
    proxied connection): sqlite3's and aiosqlite's ``in_transaction`` read a flag, no hop."""
    try:
        return bool(connection.driver_connection.in_transaction)
    except (AttributeError, ValueError):  # closed (aiosqlite: "no active connection")
        return False
