"""The database layer every bench app shares, so that only the framework differs.

The TechEmpower tables: ``world(id, randomnumber)`` with 10,000 rows and ``fortune(id, message)``
with 12; and for the read of rows with their foreign-key relation, ``city(id, name,
country_id)`` with 10,000 rows, each pointing at one of 100 rows of ``country(id, name)``.
SQLite by default (the file ``BENCH_SQLITE``, else ``bench/bench.sqlite3``, which the
runner creates); PostgreSQL when ``BENCH_DB=postgres`` (``BENCH_PG_DSN``).

Async apps open an :class:`AsyncDB` in their start-up hook (aiosqlite, or an asyncpg pool);
sync apps use a :class:`SyncDB`, a small pool of sqlite3 or psycopg connections. The bare app
(the ceiling) also serves the data path's endpoints through :class:`AsyncDB`: a row by key,
a create, TechEmpower's updates and the cities with their country.
The settings are read when the connection opens, so tests can point them elsewhere first.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import random
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

__all__ = [
    "CITIES",
    "COUNTRIES",
    "EXTRA_FORTUNE",
    "FORTUNES",
    "POOL_SIZE",
    "RELATED_ROWS",
    "ROWS",
    "AsyncDB",
    "Fortune",
    "SyncDB",
    "city_json",
    "create_postgres",
    "create_sqlite",
    "query_count",
    "random_city",
    "random_id",
    "random_ids",
]

ROWS = 10_000
CITIES = 10_000
COUNTRIES = 100
RELATED_ROWS = 20  # GET /cities: this many cities from a random one on, each with its country
POOL_SIZE = 4  # per server: all servers of a run are up at once, PostgreSQL allows 100
DEFAULT_SQLITE = Path(__file__).resolve().parent.parent / "bench.sqlite3"
# A database of the bench's own (created on first use): a bench run recreates its tables, and
# the test suite's database ("test") must not see them vanish under a concurrent run.
DEFAULT_PG_DSN = "postgresql://postgres@127.0.0.1:5432/plait_bench"

EXTRA_FORTUNE = "Additional fortune added at request time."
FORTUNES = [
    "fortune: No such file or directory",
    "A computer scientist is someone who fixes things that aren't broken.",
    "After enough decimal places, nobody gives a damn.",
    "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1",
    "A computer program does what you tell it to do, not what you want it to do.",
    "Emacs is a nice operating system, but I prefer UNIX. \u2014 Tom Christaensen",
    "Any program that runs right is obsolete.",
    "A list is only as strong as its weakest link. \u2014 Donald Knuth",
    "Feature: A bug with seniority.",
    "Computers make very fast, very accurate mistakes.",
    '<script>alert("This should not be displayed in a browser alert box.");</script>',
    "\u30d5\u30ec\u30fc\u30e0\u30ef\u30fc\u30af\u306e\u30d9\u30f3\u30c1\u30de\u30fc\u30af",
]

WORLD_SQL = "SELECT id, randomnumber FROM world WHERE id = ?"
WORLD_SQL_ASYNCPG = "SELECT id, randomnumber FROM world WHERE id = $1"
WORLD_SQL_PSYCOPG = "SELECT id, randomnumber FROM world WHERE id = %s"
FORTUNE_SQL = "SELECT id, message FROM fortune"
CITIES_SQL = (
    "SELECT city.id, city.name, city.country_id, country.name FROM city"
    " JOIN country ON country.id = city.country_id"
    f" WHERE city.id >= ? ORDER BY city.id LIMIT {RELATED_ROWS}"
)
CITIES_SQL_ASYNCPG = CITIES_SQL.replace("?", "$1")
CREATE_SQL = "INSERT INTO world (randomnumber) VALUES (?) RETURNING id, randomnumber"
CREATE_SQL_ASYNCPG = CREATE_SQL.replace("?", "$1")
UPDATE_SQL = "UPDATE world SET randomnumber = ? WHERE id = ?"
UPDATE_SQL_ASYNCPG = "UPDATE world SET randomnumber = $1 WHERE id = $2"


class Fortune(NamedTuple):
    id: int
    message: str


def random_id() -> int:
    return random.randint(1, ROWS)


def random_ids(count: int) -> list[int]:
    """``count`` different random ids of ``world``: for the updates where each row read is
    its own object (no identity map), so that no row is written twice with two values."""
    return random.sample(range(1, ROWS + 1), count)


def random_city() -> int:
    """The first of the ``RELATED_ROWS`` cities ``GET /cities`` answers."""
    return random.randint(1, CITIES - RELATED_ROWS + 1)


def city_json(id_: int, name: str, country_id: int, country_name: str) -> dict[str, Any]:
    """One city of ``GET /cities``, as every app answers it."""
    return {
        "id": id_,
        "name": name,
        "country_id": country_id,
        "country": {"id": country_id, "name": country_name},
    }


def query_count(raw: str | None) -> int:
    """TechEmpower's rule for ``?queries=``: 1 when missing or not an integer, else clamped to 1..500."""
    try:
        count = int(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 1
    return min(max(count, 1), 500)


def _use_postgres() -> bool:
    return os.environ.get("BENCH_DB", "sqlite") == "postgres"


def _pg_dsn() -> str:
    return os.environ.get("BENCH_PG_DSN", DEFAULT_PG_DSN)


def _sqlite_uri(mode: str = "ro") -> str:
    # Read-only for the apps that only read; either way a typo in the path fails instead of
    # creating a file.
    return f"file:{os.environ.get('BENCH_SQLITE', DEFAULT_SQLITE)}?mode={mode}"


class AsyncDB:
    """One aiosqlite connection or one asyncpg pool per worker, opened by :meth:`connect`."""

    def __init__(self) -> None:
        self._sqlite: Any = None
        self._pool: Any = None
        # One SQLite connection serves every request: a write transaction holds it alone.
        self._writing = asyncio.Lock()

    async def connect(self) -> None:
        if _use_postgres():
            import asyncpg

            self._pool = await asyncpg.create_pool(
                _pg_dsn(), min_size=POOL_SIZE, max_size=POOL_SIZE
            )
        else:
            import aiosqlite

            self._sqlite = await aiosqlite.connect(_sqlite_uri("rw"), uri=True)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        if self._sqlite is not None:
            await self._sqlite.close()
            self._sqlite = None

    async def world(self, world_id: int) -> dict[str, int]:
        if self._pool is not None:
            row = await self._pool.fetchrow(WORLD_SQL_ASYNCPG, world_id)
        else:
            (row,) = await self._sqlite.execute_fetchall(WORLD_SQL, (world_id,))
        return {"id": row[0], "randomNumber": row[1]}

    async def worlds(self, count: int) -> list[dict[str, int]]:
        """``count`` rows fetched one query at a time, as TechEmpower's rules require."""
        if self._pool is not None:
            async with self._pool.acquire() as conn:
                rows = [await conn.fetchrow(WORLD_SQL_ASYNCPG, random_id()) for _ in range(count)]
        else:
            fetch = self._sqlite.execute_fetchall
            rows = [(await fetch(WORLD_SQL, (random_id(),)))[0] for _ in range(count)]
        return [{"id": row[0], "randomNumber": row[1]} for row in rows]

    async def fortunes(self) -> list[Fortune]:
        if self._pool is not None:
            rows = await self._pool.fetch(FORTUNE_SQL)
        else:
            rows = await self._sqlite.execute_fetchall(FORTUNE_SQL)
        return [Fortune(row[0], row[1]) for row in rows]

    # --- the data path (the bare app's share of it)

    async def find_world(self, world_id: int) -> dict[str, int] | None:
        if self._pool is not None:
            row = await self._pool.fetchrow(WORLD_SQL_ASYNCPG, world_id)
        else:
            found = await self._sqlite.execute_fetchall(WORLD_SQL, (world_id,))
            row = found[0] if found else None
        return None if row is None else {"id": row[0], "randomNumber": row[1]}

    async def create_world(self, number: int) -> dict[str, int]:
        if self._pool is not None:
            row = await self._pool.fetchrow(CREATE_SQL_ASYNCPG, number)
        else:
            async with self._writing:
                (row,) = await self._sqlite.execute_fetchall(CREATE_SQL, (number,))
                await self._sqlite.commit()
        return {"id": row[0], "randomNumber": row[1]}

    async def update_worlds(self, count: int) -> list[dict[str, int]]:
        """TechEmpower's updates: ``count`` rows read one query at a time, then written, in
        one transaction."""
        ids = random_ids(count)
        if self._pool is not None:
            async with self._pool.acquire() as conn, conn.transaction():
                rows = [await conn.fetchrow(WORLD_SQL_ASYNCPG, id_) for id_ in ids]
                worlds = [(row[0], random_id()) for row in rows]
                # Sorted by key, so that concurrent transactions lock rows in one order.
                await conn.executemany(UPDATE_SQL_ASYNCPG, [(n, i) for i, n in sorted(worlds)])
        else:
            fetch = self._sqlite.execute_fetchall
            async with self._writing:
                rows = [(await fetch(WORLD_SQL, (id_,)))[0] for id_ in ids]
                worlds = [(row[0], random_id()) for row in rows]
                await self._sqlite.executemany(UPDATE_SQL, [(n, i) for i, n in worlds])
                await self._sqlite.commit()
        return [{"id": id_, "randomNumber": number} for id_, number in worlds]

    async def cities(self, first: int) -> list[dict[str, Any]]:
        """``RELATED_ROWS`` cities from ``first`` on, each with its country (one join)."""
        if self._pool is not None:
            rows = await self._pool.fetch(CITIES_SQL_ASYNCPG, first)
        else:
            rows = await self._sqlite.execute_fetchall(CITIES_SQL, (first,))
        return [city_json(*row) for row in rows]


class SyncDB:
    """A small pool of sqlite3 or psycopg connections shared by the server's threads.

    A pool, not a connection per thread: granian's WSGI interface runs up to hundreds of
    threads, and PostgreSQL allows 100 connections.
    """

    def __init__(self, size: int = POOL_SIZE) -> None:
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)
        self._world_sql = WORLD_SQL

    @contextmanager
    def _conn(self) -> Iterator[Any]:
        with self._slots:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                conn = self._connect()
            try:
                yield conn
            finally:
                self._idle.put(conn)

    def _connect(self) -> Any:
        if _use_postgres():
            import psycopg

            self._world_sql = WORLD_SQL_PSYCOPG
            return psycopg.connect(_pg_dsn(), autocommit=True)
        self._world_sql = WORLD_SQL
        return sqlite3.connect(_sqlite_uri(), uri=True, check_same_thread=False)

    def world(self, world_id: int) -> dict[str, int]:
        with self._conn() as conn:
            ((id_, number),) = conn.execute(self._world_sql, (world_id,)).fetchall()
        return {"id": id_, "randomNumber": number}

    def worlds(self, count: int) -> list[dict[str, int]]:
        """``count`` rows fetched one query at a time, as TechEmpower's rules require."""
        with self._conn() as conn:
            rows = [conn.execute(self._world_sql, (random_id(),)).fetchone() for _ in range(count)]
        return [{"id": id_, "randomNumber": number} for id_, number in rows]

    def fortunes(self) -> list[Fortune]:
        with self._conn() as conn:
            rows = conn.execute(FORTUNE_SQL).fetchall()
        return [Fortune(id_, message) for id_, message in rows]


def _rows(seed: int = 42) -> list[tuple[int, int]]:
    rng = random.Random(seed)
    return [(i, rng.randint(1, ROWS)) for i in range(1, ROWS + 1)]


def _countries() -> list[tuple[int, str]]:
    return [(i, f"Country {i}") for i in range(1, COUNTRIES + 1)]


def _cities(seed: int = 7) -> list[tuple[int, str, int]]:
    rng = random.Random(seed)
    return [(i, f"City {i}", rng.randint(1, COUNTRIES)) for i in range(1, CITIES + 1)]


def create_sqlite(path: str | os.PathLike[str]) -> None:
    """(Re)create the tables in a SQLite file, in WAL mode.

    WAL is stored in the file, and plait.db sets it on every connection it opens (its
    default): set here, before any app runs, every app works on the file in the same mode,
    whichever ran first.
    """
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(
            "DROP TABLE IF EXISTS world; DROP TABLE IF EXISTS fortune;"
            "DROP TABLE IF EXISTS city; DROP TABLE IF EXISTS country;"
            "CREATE TABLE world (id INTEGER PRIMARY KEY, randomnumber INTEGER NOT NULL);"
            "CREATE TABLE fortune (id INTEGER PRIMARY KEY, message TEXT NOT NULL);"
            "CREATE TABLE country (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
            "CREATE TABLE city (id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " country_id INTEGER NOT NULL REFERENCES country (id));"
            "CREATE INDEX city_country_id ON city (country_id);"
        )
        conn.executemany("INSERT INTO world VALUES (?, ?)", _rows())
        conn.executemany("INSERT INTO fortune VALUES (?, ?)", enumerate(FORTUNES, start=1))
        conn.executemany("INSERT INTO country VALUES (?, ?)", _countries())
        conn.executemany("INSERT INTO city VALUES (?, ?, ?)", _cities())
    conn.close()


def _ensure_database(dsn: str) -> None:
    """CREATE DATABASE for ``dsn``'s database when the server does not have it yet."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(dsn)
    name = params.get("dbname")
    if not name:
        return
    admin = make_conninfo(dsn, dbname="postgres", options="")
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return
        # another run may have created it meanwhile
        with contextlib.suppress(psycopg.errors.DuplicateDatabase):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(str(name))))


def create_postgres(dsn: str = DEFAULT_PG_DSN) -> None:
    """(Re)create the tables in PostgreSQL, unless they already hold the expected rows.

    They go in the connection's current schema (``?options=-csearch_path%3D...`` in ``dsn``
    picks another than ``public``).
    """
    import psycopg

    _ensure_database(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        try:
            counts = conn.execute(
                "SELECT (SELECT count(*) FROM world), (SELECT count(*) FROM fortune),"
                " (SELECT count(*) FROM country), (SELECT count(*) FROM city)"
            ).fetchone()
            identity = conn.execute(
                "SELECT is_identity FROM information_schema.columns WHERE table_name = 'world'"
                " AND column_name = 'id' AND table_schema = current_schema()"
            ).fetchone()
            if counts == (ROWS, len(FORTUNES), COUNTRIES, CITIES) and identity == ("YES",):
                return
        except psycopg.errors.UndefinedTable:
            pass
        conn.execute("DROP TABLE IF EXISTS world, fortune, city, country")
        # An identity key: the create endpoints (POST /worlds) insert without one.
        conn.execute(
            "CREATE TABLE world (id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
            " randomnumber integer NOT NULL)"
        )
        conn.execute("CREATE TABLE fortune (id integer PRIMARY KEY, message text NOT NULL)")
        conn.execute("CREATE TABLE country (id integer PRIMARY KEY, name text NOT NULL)")
        conn.execute(
            "CREATE TABLE city (id integer PRIMARY KEY, name text NOT NULL,"
            " country_id integer NOT NULL REFERENCES country (id))"
        )
        conn.execute("CREATE INDEX city_country_id ON city (country_id)")
        tables: dict[str, list[Any]] = {
            "world": _rows(),
            "fortune": list(enumerate(FORTUNES, 1)),
            "country": _countries(),
            "city": _cities(),
        }
        with conn.cursor() as cur:
            for table, rows in tables.items():
                with cur.copy(f"COPY {table} FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        conn.execute(f"SELECT setval(pg_get_serial_sequence('world', 'id'), {ROWS})")
