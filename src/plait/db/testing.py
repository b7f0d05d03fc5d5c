"""Tests that leave the database as they found it: every test in a rolled-back transaction.

The app's sessions are bound to one connection holding an outer transaction; their commits
only release savepoints inside it, and the end of the test rolls the whole of it back. This
works the same on SQLite and PostgreSQL, and costs one rollback instead of a truncate::

    import pytest
    from plait.db.testing import rolled_back
    from plait.testing import TestClient

    from myproject.app import app, db

    @pytest.fixture
    def client():
        with rolled_back(db, create_all=True), TestClient(app) as client:
            yield client

    def test_create(client):
        assert client.post("/articles", json={"title": "t", "body": "b"}).status_code == 201

The app may also already be running (a session-wide client): entering ``rolled_back`` then
starts the transaction in the app's event loop, and leaving it rolls it back.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from plait.db._database import Database

__all__ = ["RolledBack", "rolled_back"]

T = TypeVar("T")


class RolledBack:
    """The context manager :func:`rolled_back` returns (sync ``with`` or ``async with``)."""

    def __init__(self, db: Database, *, create_all: bool = False) -> None:
        self.db = db
        self.create_all = create_all

    # -------------------------------------------------------------- in the app's loop

    async def _begin(self) -> None:
        db = self.db
        connection = await db.engine.connect()
        await connection.begin()
        db._bind = connection
        if self.create_all:
            await connection.run_sync(db.metadata.create_all)

    async def _end(self) -> None:
        db = self.db
        connection, db._bind = db._bind, None
        if connection is not None:
            await connection.rollback()
            await connection.close()

    # -------------------------------------------------------------- sync use

    def _app_loop(self) -> asyncio.AbstractEventLoop | None:
        loop = self.db._loop
        return loop if loop is not None and loop.is_running() else None

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        loop = self._app_loop()
        if loop is None:
            return asyncio.run(coro)
        if _running_loop() is loop:
            coro.close()
            raise RuntimeError("inside the app's event loop, use `async with rolled_back(db)`")
        future: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(coro, loop)
        return future.result(timeout=60)

    def __enter__(self) -> RolledBack:
        if self._app_loop() is not None:
            self._call(self._begin())
        else:
            # The app starts later (TestClient): Database.connect() calls back to _begin.
            self.db._isolation = self
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.db._isolation = None
        if self.db._bind is not None and self._app_loop() is not None:
            self._call(self._end())

    # -------------------------------------------------------------- async use

    async def __aenter__(self) -> RolledBack:
        # Async tests run the app (AsyncTestClient) in this same loop: begin right away.
        await self._begin()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.db._isolation = None
        if self.db._bind is not None:
            await self._end()

    # -------------------------------------------------------------- helpers

    def run(self, func: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run ``func(session)`` inside the test's transaction, from a sync test (to add
        rows before a request, or look at what a request stored)::

            tx.run(lambda session: session.scalar(select(func.count(Article.id))))
        """

        async def main() -> T:
            async with self.db.transaction() as session:
                return await func(session)

        if self._app_loop() is None:
            raise RuntimeError("rolled_back(db).run() needs the app running (a TestClient)")
        return self._call(main())


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def rolled_back(db: Database, *, create_all: bool = False) -> RolledBack:
    """Bind ``db``'s sessions to a transaction rolled back when the block ends.

    ``create_all=True`` also creates the tables inside that transaction (so they vanish with
    it: no schema left behind, on PostgreSQL and SQLite alike).
    """
    return RolledBack(db, create_all=create_all)
