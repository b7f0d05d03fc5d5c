#!/usr/bin/env python3
"""What one RealWorld request costs plait in-process: queries, pool checkouts, Python calls
and CPU time, for examples/conduit on PostgreSQL (or SQLite), without a server or sockets.

    python bench/realworld/probe.py --url postgresql+asyncpg://postgres@127.0.0.1/mydb
    python bench/realworld/probe.py --url sqlite+aiosqlite:////tmp/probe.sqlite3 --count 200

The database is emptied first (use one of your own). The app is started through its lifespan
and driven by plain ASGI calls (a scope, a ``receive`` giving the body, a ``send`` keeping
the status). Two users are registered; then for each endpoint (``GET /api/user`` and ``POST
/api/articles``, both with bob's ``Authorization: Token``):

- one request with SQLAlchemy events listing its statements (``before_cursor_execute``, and
  the session's ``begin``/``commit``/``rollback``, which the driver may skip: lazy BEGIN),
  counting pool checkouts, and the round trips to the database: socket writes on PostgreSQL
  (asyncpg sends each query's messages in one write), hops to aiosqlite's thread on SQLite;
- ``--count`` requests under cProfile: Python calls per request;
- ``--repeats`` x ``--count`` requests without either: the median in-process CPU µs per
  request (``time.process_time``, so the database server's own work is left out).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
ARTICLE = {"title": "How to train your dragon", "description": "Ever wonder how?"}
ARTICLE |= {"body": "You have to believe", "tagList": ["dragons", "training", "angular"]}


async def call(app: Any, method: str, path: str, body: Any = None, token: str = "") -> Any:
    """One request straight through the ASGI app: its status and JSON answer."""
    content = json.dumps(body).encode() if body is not None else b""
    headers = [(b"content-type", b"application/json"), (b"host", b"localhost")]
    if token:
        headers.append((b"authorization", f"Token {token}".encode()))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 1), "server": ("localhost", 80),
    }  # fmt: skip
    sent: list[Any] = []

    async def receive() -> Any:
        return {"type": "http.request", "body": content, "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    await app(scope, receive, send)
    status = sent[0]["status"]
    data = b"".join(m.get("body", b"") for m in sent[1:])
    return status, (json.loads(data) if data else None)


def statement_counter(db: Any) -> tuple[list[str], list[int], list[int], Any]:
    """Listeners recording the engine's statements and checkouts, and a count of the
    socket writes (round trips to PostgreSQL: asyncpg writes each query's messages at
    once); a function removing them."""
    import sqlalchemy as sa

    engine = db.engine.sync_engine
    statements: list[str] = []
    checkouts = [0]
    writes = [0]
    transport: Any = asyncio.selector_events._SelectorSocketTransport  # type: ignore[attr-defined]
    write = transport.write
    import aiosqlite

    hop = aiosqlite.Connection._execute

    def counted_write(self: Any, data: Any) -> None:
        writes[0] += 1
        write(self, data)

    async def counted_hop(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        writes[0] += 1
        return await hop(self, fn, *args, **kwargs)

    def executed(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(" ".join(statement.split())[:90])

    def begun(conn: Any) -> None:
        statements.append("BEGIN (if the driver sends it)")

    def committed(conn: Any) -> None:
        statements.append("COMMIT")

    def rolled_back(conn: Any) -> None:
        statements.append("ROLLBACK")

    def checked_out(*args: Any) -> None:
        checkouts[0] += 1

    listeners = [
        (engine, "before_cursor_execute", executed),
        (engine, "begin", begun),
        (engine, "commit", committed),
        (engine, "rollback", rolled_back),
        (engine.pool, "checkout", checked_out),
    ]
    for target, name, function in listeners:
        sa.event.listen(target, name, function)

    transport.write = counted_write
    aiosqlite.Connection._execute = counted_hop  # type: ignore[method-assign]

    def remove() -> None:
        transport.write = write
        aiosqlite.Connection._execute = hop  # type: ignore[method-assign]
        for target, name, function in listeners:
            sa.event.remove(target, name, function)

    return statements, checkouts, writes, remove


def remove_sqlite(db: Any) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db.url.database}{suffix}").unlink(missing_ok=True)


async def empty(db: Any) -> None:
    """Drop everything in the database: its public schema, or the SQLite file."""
    import sqlalchemy as sa

    if db.is_sqlite:
        remove_sqlite(db)
        return
    async with db.engine.begin() as connection:
        await connection.execute(sa.text("DROP SCHEMA public CASCADE"))
        await connection.execute(sa.text("CREATE SCHEMA public"))
    await db.disconnect()


async def probe(url: str, count: int, repeats: int) -> None:
    import os

    os.environ["PLAIT_DATABASE_URL"] = url
    os.environ.setdefault("PLAIT_SECRET_KEY", "probe-" + "k" * 50)
    sys.path.insert(0, str(ROOT / "examples" / "conduit"))
    import argon2
    from app import app, db  # type: ignore[import-not-found]

    from plait.auth import _passwords
    from plait.testing import AsyncTestClient

    _passwords.hasher = argon2.PasswordHasher(1, 1024, 1)  # sign-ups are not what we measure
    await empty(db)
    async with AsyncTestClient(app):  # its start-up applies the migrations
        tokens = {}
        for name in ("alice", "bob"):
            user = {"username": name, "email": f"{name}@x.org", "password": "correct horse 1"}
            status, answer = await call(app, "POST", "/api/users", {"user": user})
            assert status == 201, answer
            tokens[name] = answer["user"]["token"]
        cases = {
            "GET /api/user": ("GET", "/api/user", None, 200),
            "POST /api/articles": ("POST", "/api/articles", {"article": ARTICLE}, 201),
        }
        for label, case in cases.items():

            async def run(n: int, case: tuple[str, str, Any, int] = case) -> None:
                method, path, body, expected = case
                for _ in range(n):
                    status, answer = await call(app, method, path, body, tokens["bob"])
                    assert status == expected, answer

            await run(20)  # warm: caches, the slug's suffix, the pool
            statements, checkouts, writes, remove = statement_counter(db)
            await run(1)
            remove()
            profile = cProfile.Profile()
            profile.enable()
            await run(count)
            profile.disable()
            calls = pstats.Stats(profile).total_calls / count  # type: ignore[attr-defined]
            times = []
            for _ in range(repeats):
                began = time.process_time()
                await run(count)
                times.append((time.process_time() - began) / count * 1e6)
            trips = "thread hops" if db.is_sqlite else "socket writes"
            print(f"{label}: {len(statements)} statements, {writes[0]} {trips}, "
                  f"{checkouts[0]} checkouts, "
                  f"{calls:,.0f} Python calls, {statistics.median(times):,.0f} CPU µs "
                  f"(median of {repeats} x {count})")  # fmt: skip
            for statement in statements:
                print(f"    {statement}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(probe(args.url, args.count, args.repeats))


if __name__ == "__main__":
    main()
