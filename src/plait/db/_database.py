"""``Database``: the engine, its lifecycle on the app, and sessions."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import Session as SyncSession
from sqlalchemy.pool import NullPool, QueuePool

from plait import App, Request, Settings
from plait._optional import MissingDependencyError, require
from plait.db._errorhandling import connect_errors_as_dbapi_errors, install_error_handlers
from plait.db._lazybegin import install_lazy_begin
from plait.db._lending import LentSession
from plait.db._model import Model
from plait.db._sqlite import SQLITE_PRAGMAS, install_sqlite, sqlite_connect_args

__all__ = ["POOL_SIZE", "POOL_TIMEOUT", "Database", "normalize_url"]

T = TypeVar("T")

_ASYNC_DRIVERS = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}
_DRIVER_EXTRAS = {"aiosqlite": "db", "asyncpg": "postgres"}
_SYNC_DRIVERS = {"sqlite": ["pysqlite"], "postgresql": ["psycopg", "psycopg2"]}


def normalize_url(url: str | URL) -> URL:
    """Parse a database URL and pick the async driver when none is named.

    ``postgres://`` and ``postgresql://`` become ``postgresql+asyncpg://``; ``sqlite://``
    becomes ``sqlite+aiosqlite://``. A synchronous driver is refused with a hint.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(
            f"{str(url)!r} is not a database URL; expected e.g. 'sqlite+aiosqlite:///./app.sqlite3'"
            " or 'postgresql+asyncpg://user:password@host/dbname'"
        ) from None
    backend = "postgresql" if parsed.get_backend_name() == "postgres" else parsed.get_backend_name()
    driver = parsed.get_driver_name() if "+" in parsed.drivername else None
    if driver is None and backend in _ASYNC_DRIVERS:
        parsed = parsed.set(drivername=f"{backend}+{_ASYNC_DRIVERS[backend]}")
    elif backend != parsed.get_backend_name():
        parsed = parsed.set(drivername=f"{backend}+{driver}")
    dialect = parsed.get_dialect()
    if not getattr(dialect, "is_async", False):
        choices = " or ".join(f"{b}+{d}://" for b, d in _ASYNC_DRIVERS.items())
        raise ValueError(
            f"The database URL uses the synchronous driver {parsed.drivername!r}; "
            f"plait needs an async one, such as {choices}"
        )
    return parsed


POOL_SIZE = 20
"""Connections each worker process keeps open to a server database or a SQLite file (no
overflow: a connection opened is kept). Four workers use 80 of PostgreSQL's default 100."""
POOL_TIMEOUT = 5
"""Seconds a request waits for a free connection before a 503 "busy" with
``Retry-After: 1``."""


class Database:
    """The app's database: an async engine opened at start-up and disposed at shutdown::

        from plait import App
        from plait.db import Database

        app = App()
        db = Database(app)   # PLAIT_DATABASE_URL, or a SQLite file in the project

    ``url`` wins over ``settings.DATABASE_URL``, which wins over the ``PLAIT_DATABASE_URL``
    environment variable (or ``.env``); without any, a SQLite file named after the project
    directory is used. SQLite (``aiosqlite``) runs with foreign keys on, in WAL mode, with a
    5 s busy timeout (``sqlite_pragmas`` and ``engine_options={"connect_args": {"timeout":
    ...}}`` change them); PostgreSQL URLs use ``asyncpg`` (``pip install 'plait[postgres]'``).
    A session's transaction begins at its first statement that may write (``lazy_begin``;
    on SQLite with ``BEGIN IMMEDIATE``, so concurrent writers wait for each other instead of
    failing): plain reads before it run outside a transaction (``lazy_begin=False`` keeps
    them in it).

    Handlers get a session with the :data:`plait.db.Session` parameter type. The database
    also answers integrity errors with 409/422 problems and connection loss with 503 (see
    :func:`plait.db.install_error_handlers`). ``auto_migrate=True`` brings the schema up to
    date at start-up: migrations from ``migrations`` if that directory exists, else
    ``create_all``.
    """

    def __init__(
        self,
        app: App | None = None,
        url: str | URL | None = None,
        *,
        echo: bool = False,
        settings: Settings | None = None,
        metadata: sa.MetaData | None = None,
        migrations: str | os.PathLike[str] = "migrations",
        auto_migrate: bool = False,
        name: str = "default",
        engine_options: Mapping[str, Any] | None = None,
        lazy_begin: bool = True,
        sqlite_pragmas: Mapping[str, str | int | None] | None = None,
    ) -> None:
        if url is None:
            url = (settings or Settings.load(check=False)).DATABASE_URL
        self.url = normalize_url(url)
        self.backend = self.url.get_backend_name()
        driver = self.url.get_driver_name()
        if driver in _DRIVER_EXTRAS:
            require(driver, _DRIVER_EXTRAS[driver], f"The database URL {self.url.drivername}://")
        self.echo = echo
        self.metadata = metadata if metadata is not None else Model.metadata
        self.migrations = Path(migrations)
        self.auto_migrate = auto_migrate
        self.name = name
        self.engine_options = dict(engine_options or {})
        self.lazy_begin = lazy_begin
        self.sqlite_pragmas = {**SQLITE_PRAGMAS, **(sqlite_pragmas or {})}
        # One engine per event loop (its connections belong to it): two test clients, or a
        # script's asyncio.run beside a server, each get theirs, closed by their shutdown.
        self._engines: dict[asyncio.AbstractEventLoop | None, AsyncEngine] = {}
        self._bind: AsyncConnection | None = None
        self._isolation: Any = None  # a plait.db.testing.RolledBack waiting for start-up
        self._sync_engine: Engine | None = None
        self.app: App | None = None
        if app is not None:
            self.init_app(app)

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r}, name={self.name!r})"

    # ------------------------------------------------------------------ the app

    def init_app(self, app: App) -> None:
        """Register on ``app``: start-up/shutdown hooks, error handlers, ``Database.of(app)``."""
        databases = _registry(app)
        if self.name in databases:
            raise RuntimeError(
                f"The app already has a database named {self.name!r}; give this one another "
                "name= (and use its session_dependency)"
            )
        databases[self.name] = self
        self.app = app
        app.on_startup(self.connect)
        app.on_shutdown(self.disconnect)
        install_error_handlers(app)

    @classmethod
    def of(cls, app: App, name: str = "default") -> Database:
        """The database registered on ``app`` under ``name``."""
        database = _registry(app).get(name)
        if database is None:
            raise RuntimeError(
                f"No database named {name!r} on this app: create one with Database(app)"
                if name == "default"
                else f"No database named {name!r} on this app: Database(app, name={name!r})"
            )
        return database

    @property
    def is_sqlite(self) -> bool:
        return self.backend == "sqlite"

    # ------------------------------------------------------------------ engines

    def create_engine(self, *, foreign_keys: bool = True, pooled: bool = True) -> AsyncEngine:
        """A new async engine for this database's URL (the app's is :attr:`engine`)."""
        options: dict[str, Any] = {"echo": self.echo}
        if pooled and self._queue_pooled():
            # Connections are kept (no overflow opened and closed per request), and a
            # request waits a bounded time for one before a "busy" 503.
            options.update(pool_size=POOL_SIZE, max_overflow=0, pool_timeout=POOL_TIMEOUT)
        if not pooled:
            options["poolclass"] = NullPool
        options.update(self.engine_options)
        self._connect_options(self.url, options)
        engine = create_async_engine(self.url, **options)
        if not self.is_sqlite and not options.get("pool_pre_ping"):
            _ping_when_idle(engine.sync_engine)
        connect_errors_as_dbapi_errors(engine.sync_engine)
        if self.lazy_begin and self.url.get_driver_name() == "asyncpg":
            install_lazy_begin(engine.sync_engine)
        if self.is_sqlite:
            self._install_sqlite(engine.sync_engine, foreign_keys)
        return engine

    def _queue_pooled(self) -> bool:
        """Whether the engine pools connections in a queue: a server database, or a SQLite
        file (an in-memory SQLite database is one connection, a ``StaticPool``), unless
        ``engine_options`` names another pool.

        PERF: SQLAlchemy's default overflow of 10 made a SQLite file's pool open and close
        a connection (a thread, ``sqlite3.connect``, the PRAGMAs) for about one request in
        six at 64 concurrent ones; without it the bench's plaitdb served 2.4x the one-row
        reads per CPU-second, and 3x the updates per second (docs/benchmarks.md).
        """
        if "poolclass" in self.engine_options:
            return False
        dialect: Any = self.url.get_dialect()
        return issubclass(dialect.get_pool_class(self.url), QueuePool)

    def _connect_options(self, url: URL, options: dict[str, Any]) -> None:
        """Per-backend engine options: PostgreSQL sessions in UTC; SQLite's busy timeout,
        and no pool reset on return (:func:`install_sqlite` rolls back only when needed)."""
        if self.backend == "postgresql":
            options["connect_args"] = _utc_session(url, options.get("connect_args"))
        elif self.is_sqlite:
            options["connect_args"] = sqlite_connect_args(options.get("connect_args"))
            options.setdefault("pool_reset_on_return", None)

    def _install_sqlite(self, engine: Engine, foreign_keys: bool) -> None:
        install_sqlite(
            engine,
            foreign_keys=foreign_keys,
            pragmas=self.sqlite_pragmas,
            lazy_begin=self.lazy_begin,
        )

    @property
    def engine(self) -> AsyncEngine:
        """The app's engine in the running event loop, created there on first use."""
        loop = _running_loop()
        engine = self._engines.get(loop)
        if engine is None:
            # Engines of loops that are gone (a script's asyncio.run) are let go, as before.
            for gone in [other for other in self._engines if other and other.is_closed()]:
                del self._engines[gone]
            # One made outside any loop is adopted by the first loop that uses it.
            engine = self._engines.pop(None, None) or self.create_engine()
            self._engines[loop] = engine
        return engine

    @property
    def _loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop that opened an engine last and still runs (the app's)."""
        running = [loop for loop in self._engines if loop is not None and loop.is_running()]
        return running[-1] if running else None

    def sync_engine(self) -> Engine:
        """A synchronous engine on the same database, for scripts and the shell.

        SQLite uses the standard library's driver; PostgreSQL needs ``psycopg`` (or
        ``psycopg2``) installed.
        """
        if self._sync_engine is None:
            url = self.url.set(drivername=f"{self.backend}+{self._sync_driver()}")
            options = dict(self.engine_options)
            self._connect_options(url, options)
            engine = sa.create_engine(url, echo=self.echo, **options)
            if self.is_sqlite:
                self._install_sqlite(engine, foreign_keys=True)
            self._sync_engine = engine
        return self._sync_engine

    def _sync_driver(self) -> str:
        candidates = _SYNC_DRIVERS.get(self.backend, [])
        for driver in candidates:
            module = {"pysqlite": "sqlite3"}.get(driver, driver)
            with contextlib.suppress(ImportError):
                __import__(module)
                return driver
        raise MissingDependencyError(
            f"Synchronous access to {self.backend} needs a synchronous driver: "
            + (f"pip install {candidates[0]!r}" if candidates else "none is known")
        )

    def sync_session(self) -> SyncSession:
        """A synchronous session (for scripts and the shell); commit it yourself."""
        return SyncSession(self.sync_engine(), expire_on_commit=False)

    # ------------------------------------------------------------------ lifecycle

    async def connect(self) -> None:
        """Start-up: open the engine; migrate if asked; bind to a test transaction if asked.

        If any of it fails, what it opened is closed again before the error propagates.
        """
        self._check_sqlite_directory()
        self.engine  # noqa: B018 - created now, in the server's event loop
        try:
            if self.auto_migrate:
                await self.migrate()
            if self._isolation is not None:
                await self._isolation._begin()
        except BaseException:
            await self.disconnect()
            raise

    async def disconnect(self) -> None:
        """Shutdown: roll back a test transaction, then close every pooled connection of the
        running event loop's engine (other loops' engines belong to their own shutdown)."""
        bind, self._bind = self._bind, None
        if bind is not None:
            await bind.rollback()
            await bind.close()
        loop = _running_loop()
        engine = self._engines.pop(loop, None) or self._engines.pop(None, None)
        if engine is not None:
            await engine.dispose()
        if self._sync_engine is not None:
            self._sync_engine.dispose()
            self._sync_engine = None

    def _check_sqlite_directory(self) -> None:
        database = self.url.database
        if not self.is_sqlite or not database or database == ":memory:":
            return
        if database.startswith("file:"):
            return
        directory = Path(database).parent
        if not directory.is_dir():
            raise RuntimeError(
                f"The SQLite database {database!r} is in a directory that does not exist "
                f"({directory.resolve()}): create it, or fix DATABASE_URL"
            )

    async def migrate(self) -> None:
        """Bring the schema up to date: apply migrations, or ``create_all`` without any."""
        from plait.db.migrations import has_migrations, upgrade_async

        if has_migrations(self.migrations):
            await upgrade_async(self, "head")
        else:
            await self.create_all()

    async def create_all(self) -> None:
        """Create the tables of :attr:`metadata` that do not exist yet."""
        async with self._connection() as connection:
            await connection.run_sync(self.metadata.create_all)

    async def drop_all(self) -> None:
        """Drop the tables of :attr:`metadata`."""
        async with self._connection() as connection:
            await connection.run_sync(self.metadata.drop_all)

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[AsyncConnection]:
        if self._bind is not None:
            async with self._bind.begin_nested():
                yield self._bind
            return
        async with self.engine.begin() as connection:
            yield connection

    # ------------------------------------------------------------------ sessions

    @property
    def bound_for_tests(self) -> bool:
        """Whether sessions join a test's outer transaction (:mod:`plait.db.testing`)."""
        return self._bind is not None

    def new_session(self) -> AsyncSession:
        """A new session on this database; you commit (or use :meth:`transaction`)."""
        if self._bind is not None:
            # Test isolation: the session's commits release savepoints of the outer
            # transaction, which shutdown rolls back.
            return AsyncSession(
                bind=self._bind, expire_on_commit=False, join_transaction_mode="create_savepoint"
            )
        return AsyncSession(self.engine, expire_on_commit=False)

    def lend_session(self) -> LentSession:
        """A session for a middleware to read in before the handler, which the request's
        :data:`~plait.db.Session` then continues (see :class:`~plait.db.LentSession`)."""
        return LentSession(self)

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """``async with db.session() as session:`` a session closed at the end (no commit)."""
        session = self.new_session()
        try:
            yield session
        finally:
            await session.close()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """``async with db.transaction() as session:`` committed if the block succeeds,
        rolled back if it raises. Savepoints inside: ``async with session.begin_nested():``.
        """
        session = self.new_session()
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
        finally:
            await session.close()

    async def session_dependency(self, request: Request) -> AsyncIterator[AsyncSession]:
        """A dependency giving this database's per-request session (committed on success)::

        Analytics = Annotated[AsyncSession, Depends(analytics.session_dependency, scope="function")]
        """
        async with self.transaction() as session:
            yield session

    def run(self, func: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run ``func(session)`` in a transaction from synchronous code (a script, a shell)::

        count = db.run(lambda session: session.scalar(select(func.count(Article.id))))
        """

        async def main() -> T:
            try:
                async with self.transaction() as session:
                    return await func(session)
            finally:
                await self.disconnect()

        return asyncio.run(main())


PING_IDLE = 1.0
"""Seconds a pooled connection may rest before its next checkout pings it first."""


def _ping_when_idle(engine: Engine) -> None:
    """A connection the server dropped while it rested is replaced instead of failing a request.

    PERF: SQLAlchemy's ``pool_pre_ping`` pings at every checkout: on asyncpg that doubled
    the socket writes of a one-row read (6 against 3 with BEGIN and COMMIT; the bench's
    ``plaitdb`` app). Under load connections come back within milliseconds, so only one that
    rested over :data:`PING_IDLE` seconds is pinged; a connection that breaks while in use
    fails its request (a 503) and invalidates the pool, so the next request reconnects.
    """

    @sa.event.listens_for(engine, "checkin")
    def _rested(dbapi_connection: Any, record: Any) -> None:
        record.info["plait_checkin"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _ping(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        rested = record.info.get("plait_checkin")
        if rested is None or time.monotonic() - rested < PING_IDLE:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # any failure of the ping: the connection is gone
            raise sa.exc.DisconnectionError(str(exc)) from exc
        if not alive:
            raise sa.exc.DisconnectionError("the connection did not answer a ping")


def _utc_session(url: URL, connect_args: Mapping[str, Any] | None) -> dict[str, Any]:
    """``connect_args`` making each PostgreSQL connection's time zone UTC, whatever the
    server's or the role's: ``now()`` defaults, casts and naive ``timestamp`` columns then
    all speak UTC (a ``timezone`` the caller set wins)."""
    args = dict(connect_args or {})
    driver = url.get_driver_name()
    if driver == "asyncpg":
        args["server_settings"] = {"timezone": "UTC", **args.get("server_settings", {})}
    elif driver.startswith("psycopg") and "timezone" not in str(args.get("options", "")):
        args["options"] = f"{args.get('options', '')} -c timezone=UTC".strip()
    return args


def _registry(app: App) -> dict[str, Database]:
    try:
        databases: dict[str, Database] = app.state.databases
    except AttributeError:
        databases = {}
        app.state.databases = databases
    return databases


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
