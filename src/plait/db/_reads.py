"""``read_one`` and ``read_all``: rows straight into a response schema, without ORM objects.

On PostgreSQL (asyncpg) and SQLite (aiosqlite) a read of a model's columns (and of the
many-to-one rows its schema nests) runs on the driver connection under SQLAlchemy: a
prepared statement on asyncpg, one ``execute_fetchall`` (one hop to its thread) on
aiosqlite, compiled once per statement shape; each row becomes the schema's Struct in one
constructor call, through SQLAlchemy's own result processors where a column type converts.
Everything else runs through SQLAlchemy and gives the same result: other drivers, asyncpg's
numerics, SQL echo and engine listeners (OpenTelemetry's spans), schemas showing more than
columns (the ORM reads those).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar, cast

import msgspec
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.util import greenlet_spawn

from plait.db._lazybegin import SNAPSHOT_FREE
from plait.db._readplan import Constant, Fast, Plan, model_of, plan_for_key, plan_for_query
from plait.db._requestsession import untouched
from plait.db._types import AnySelect

__all__ = ["read_all", "read_one"]

S = TypeVar("S", bound=msgspec.Struct)
_FIRST_READ_DONE = "_plait_first_read"
"""Set on a session by its first read, which took a pooled connection."""


async def read_one(
    session: AsyncSession, schema: type[S], pk: Any, *, model: type | None = None
) -> S | None:
    """The row of ``schema``'s model with primary key ``pk``, read into ``schema``; ``None``
    if there is none::

        @app.get("/articles/{article_id}")
        async def article(article_id: int, session: Session) -> Article.Read:
            return await get_or_404(session, Article.Read, article_id)  # read_one, or a 404

    ``schema`` is a model's ``Read`` (or any :func:`~plait.db.model_schema` of it);
    another Struct names its model with ``model=``. The same Struct as converting
    ``session.get(Article, pk)``, for a fraction of the work (see :func:`read_all`).
    """
    target = _model(schema, model)
    plan = plan_for_key(target, schema)
    if plan is None:
        obj: Any = await session.get(cast(Any, target), pk)
        return None if obj is None else await _converted(session, obj, schema)
    found = _fast(session, target, plan)
    if found is not None:
        # PERF: one parameter, the key: no cache key to compute, no parameters to match.
        fast, bind = found
        if len(fast.sources) == 1:
            process = fast.processors[0]
            args = [pk if process is None else process(pk)]
        else:  # with parameters the dialect added
            args = _arguments(fast, [pk if s == "pk" else s.value for s in fast.sources])
        rows = await _run(session, bind, fast, args, 1)
        if rows is not None:
            return fast.build(rows[0]) if rows else None
    row = (await session.execute(plan.statement, {"pk": pk})).first()
    return None if row is None else plan.shape.build(row)


async def read_all(
    session: AsyncSession,
    schema: type[S],
    query: AnySelect | None = None,
    params: Mapping[str, Any] | None = None,
) -> list[S]:
    """The rows ``query`` selects (a ``select()`` of one model), each read into ``schema``::

        @app.get("/articles")
        async def articles(session: Session) -> list[Article.Read]:
            query = select(Article).where(Article.published).order_by(Article.id).limit(20)
            return await read_all(session, Article.Read, query)

    Without ``query``, every row of the model. Relationships ``schema`` nests one level
    deep (``model_schema(City, "read", depth=1)`` nests the city's country) are joined into
    the same query when they are many-to-one. ``params`` gives the values of the query's
    ``bindparam()`` parameters, as ``session.execute(query, params)`` does: a query built once, at
    import, then costs nothing to build per request::

        LATEST = select(Article).where(Article.author_id == bindparam("author")).limit(20)

        articles = await read_all(session, Article.Read, LATEST, {"author": author_id})

    PERF: the query is compiled once per shape (queries that differ only in their values
    share it) and runs on the driver connection (a prepared statement on asyncpg, one
    ``execute_fetchall`` on aiosqlite), each row building the Struct directly: no ORM
    objects, no SQLAlchemy result. When the session has written (pending changes, a flush)
    the read runs on its connection, after a flush, so it sees those writes; otherwise its
    first read takes a connection of the pool, outside any transaction (like plait's lazy
    ``BEGIN``), and later ones share the session's. Other drivers, asyncpg's numerics,
    ``echo=True`` and traced engines run the same ``select()`` through SQLAlchemy; schemas
    showing more than columns, through the ORM. The result is the same.
    """
    if query is None:
        query = _every_row(schema)
    cache_key = query._generate_cache_key()
    plan = None if cache_key is None else plan_for_query(schema, query, cache_key)
    if plan is None:
        found = list((await session.scalars(query, params)).all())
        converted: list[S] = await _converted(session, found, list[schema])  # type: ignore[valid-type]
        return converted
    found_fast = _fast(session, plan.shape.model, plan)
    if found_fast is not None:
        fast, bind = found_fast
        values: Any = cache_key.bindparams  # type: ignore[union-attr]
        names = plan.key_names
        given = [
            i.value if type(i) is Constant
            else params[names[i]] if params and names[i] in params
            else values[i].effective_value
            for i in fast.sources
        ]  # fmt: skip
        rows = await _run(session, bind, fast, _arguments(fast, given), 0)
        if rows is not None:
            build = fast.build
            return [build(row) for row in rows]
    build = plan.shape.build
    return [build(row) for row in await session.execute(plan.shape.select(query), params)]


_EVERY_ROW: dict[type, AnySelect] = {}


def _every_row(schema: type[msgspec.Struct]) -> AnySelect:
    """``select(model)`` of ``schema``'s model, built once: SQLAlchemy memoizes a
    statement's cache key, which a new ``select()`` per call would compute again."""
    query = _EVERY_ROW.get(schema)
    if query is None:
        query = _EVERY_ROW[schema] = sa.select(_model(schema, None))
    return query


def _arguments(fast: Fast, given: list[Any]) -> list[Any]:
    """``given`` values through the parameters' bind processors."""
    return [
        value if process is None else process(value)
        for value, process in zip(given, fast.processors, strict=True)
    ]


def _model(schema: type[msgspec.Struct], model: type | None) -> type:
    found = model or model_of(schema)
    if found is None:
        raise TypeError(
            f"{schema.__name__} is not a model_schema(); pass the model it reads: model=..."
        )
    return found


async def _converted(session: AsyncSession, found: Any, schema: Any) -> Any:
    # Converted where lazy loads may run (relationships not loaded yet).
    return await session.run_sync(lambda _: msgspec.convert(found, schema, from_attributes=True))


def _fast(
    session: AsyncSession, model: type, plan: Plan
) -> tuple[Fast, Engine | sa.Connection] | None:
    """``plan`` compiled for the session's engine, and the session's bind for ``model``; or
    ``None`` when SQLAlchemy must run it: another driver, or an engine that logs its SQL or
    has listeners on its statements."""
    lazy = untouched(session)
    # An untouched request session is not built to ask it (see RequestSession).
    bind = lazy.sync_engine if lazy is not None else session.sync_session.get_bind(model)
    engine: Engine = bind if isinstance(bind, Engine) else bind.engine
    fast = plan.fast_for(engine.dialect)
    if fast is None:
        return None
    # PERF: the listener collections are read only when any listener was added (reading
    # ``engine.dispatch.<event>`` joins the engine's and the pool's each time).
    if engine._has_events and (
        engine.dispatch.before_cursor_execute or engine.dispatch.after_cursor_execute
    ):
        return None
    if engine.dialect._has_events and engine.dialect.dispatch.handle_error:
        return None
    if engine._should_log_info():
        return None
    return fast, bind


async def _run(
    session: AsyncSession, bind: Engine | sa.Connection, fast: Fast, args: list[Any], limit: int
) -> Sequence[Any] | None:
    """The rows of ``fast`` (at most one if ``limit``), on a pooled connection when the
    session holds none and has nothing to flush, else on the session's; ``None`` if the
    connection's isolation needs SQLAlchemy's transaction handling."""
    first = _FIRST_READ_DONE not in session.__dict__
    if first and untouched(session) is not None and isinstance(bind, Engine):
        session.__dict__[_FIRST_READ_DONE] = True
        return await _pooled(bind, fast, args, limit)
    sync = session.sync_session
    transaction = sync.get_transaction()
    # The session's connection for ``bind``, if its transaction holds one (SQLAlchemy's
    # bookkeeping: (connection, transaction, ...) by bind).
    held = None if transaction is None else transaction._connections.get(bind)
    # PERF: a session that has neither written nor opened a connection (plait.auth's user
    # joining it starts a transaction, but holds no connection) needn't be involved in its
    # first read: a connection straight from the pool costs a third of a session's
    # checkout. From its second read on, the session checks out its own, which the reads
    # share (a checkout and check-in per read cost more) and its writes then use too (a
    # second connection per request could exhaust the pool).
    clean = transaction is None or sync._is_clean()
    if first and held is None and isinstance(bind, Engine) and clean:
        session.__dict__[_FIRST_READ_DONE] = True
        return await _pooled(bind, fast, args, limit)
    if sync.autoflush and not sync._is_clean():
        await session.flush()
        held = sync.get_transaction()._connections.get(bind)  # type: ignore[union-attr]
    if held is None:
        await session.connection(bind_arguments={"bind": bind})
        held = sync.get_transaction()._connections[bind]  # type: ignore[union-attr]
    connection: sa.Connection = held[0]
    try:
        return await _fetch(connection.engine, connection.connection, fast, args, limit)
    except sa.exc.DBAPIError as error:
        if error.connection_invalidated:
            await greenlet_spawn(connection.invalidate, error)
        raise


async def _pooled(engine: Engine, fast: Fast, args: list[Any], limit: int) -> Sequence[Any] | None:
    """The rows on a connection of ``engine``'s pool, given back at once."""
    try:
        fairy = await greenlet_spawn(engine.raw_connection)
    except engine.dialect.loaded_dbapi.Error as error:  # a refused connection: a 503
        raise _wrapped(engine, None, (), error) from error
    try:
        return await _fetch(engine, fairy, fast, args, limit)
    except sa.exc.DBAPIError as error:
        if error.connection_invalidated:
            fairy.invalidate(error.orig)
        raise
    except Exception:
        raise
    except BaseException:
        # Cancelled mid-query: the connection's state is unknown, so it is not reused.
        fairy.invalidate()
        raise
    finally:
        fairy.close()


async def _fetch(
    engine: Engine, fairy: Any, fast: Fast, args: list[Any], limit: int
) -> Sequence[Any] | None:
    """The rows, on the driver connection: a prepared statement on asyncpg, one
    ``execute_fetchall`` (one hop to its thread) on aiosqlite."""
    driver = fairy.driver_connection
    try:
        if fast.driver == "aiosqlite":
            found: Sequence[Any] = await driver.execute_fetchall(fast.sql, args)
            return found
        adapter = fairy.dbapi_connection
        if adapter._transaction is None and adapter._isolation_setting not in SNAPSHOT_FREE:
            return None  # REPEATABLE READ or SERIALIZABLE: the read belongs in the transaction
        if limit:
            row = await driver.fetchrow(fast.sql, *args)
            return () if row is None else (row,)
        rows: Sequence[Any] = await driver.fetch(fast.sql, *args)
        return rows
    except Exception as error:
        raise _dbapi_error(engine, fairy, fast.sql, args, error) from error


def _dbapi_error(
    engine: Engine, fairy: Any, sql: str, args: list[Any], error: Exception
) -> Exception:
    """``error`` (asyncpg's) as SQLAlchemy raises it when it runs the statement: the
    dialect's DBAPI error wrapped in a ``DBAPIError`` (so plait answers an outage with a
    503), ``connection_invalidated`` when the error says the connection is gone."""
    dbapi_error = engine.dialect.loaded_dbapi.Error
    if isinstance(error, dbapi_error):  # sqlite3's, as aiosqlite raises them
        return _wrapped(engine, sql, tuple(args), error, fairy.dbapi_connection)
    try:
        fairy.dbapi_connection._handle_exception(error)  # asyncpg's, as the adapter translates
    except dbapi_error as translated:
        return _wrapped(engine, sql, tuple(args), translated, fairy.dbapi_connection)
    except Exception as other:  # not a driver error: raised as it is
        return other
    return error  # pragma: no cover - _handle_exception always raises


def _wrapped(
    engine: Engine, sql: str | None, args: tuple[Any, ...], error: Exception, adapter: Any = None
) -> sa.exc.StatementError:
    """The dialect's DBAPI ``error`` as SQLAlchemy's ``DBAPIError`` (the class plait's
    handlers answer), marked invalidated when it says the connection is gone."""
    dialect = engine.dialect
    return sa.exc.DBAPIError.instance(
        sql,
        args,
        error,
        dialect.loaded_dbapi.Error,
        hide_parameters=engine.hide_parameters,
        connection_invalidated=dialect.is_disconnect(cast(Any, error), adapter, None),
        dialect=dialect,
    )
