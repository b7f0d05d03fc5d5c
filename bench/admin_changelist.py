"""The admin's changelist over a 1,000,000-row PostgreSQL table: how long each page takes.

    python bench/admin_changelist.py            # PLAIT_BENCH_POSTGRES_URL to point elsewhere

Fills ``bench_admin_row`` once (1,000,000 rows, B-tree indexes on ``title`` for sorting and
for prefix search), then times the admin's pages in-process (plait's TestClient: the
request, the queries and the HTML, no network): the first page, sorted by an indexed
column, a prefix search (``search_fields = ("^title",)``), the last page, pages in the
middle and deep down reached by their links (a key: no offset), the same middle page by its
number alone (an offset), a filter, a month of the date hierarchy (every page also draws
the hierarchy's links: the years, or the chosen month's days), and the search-as-you-type
answers for a foreign key to the big table. Prints the median of 7 runs of each, in milliseconds.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import statistics
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from plait import App
from plait.admin import Admin, ModelAdmin
from plait.db import Database, Model
from plait.testing import TestClient
from plait.types import ASGIApp, Receive, Scope, Send

URL = os.environ.get(
    "PLAIT_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
ROWS = 1_000_000
RUNS = 7


class BenchRow(Model):
    __tablename__ = "bench_admin_row"
    __table_args__ = (
        Index("bench_admin_row_title", "title"),
        Index(
            "bench_admin_row_title_prefix", "title", postgresql_ops={"title": "text_pattern_ops"}
        ),
        Index("bench_admin_row_created", "created"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str]
    created: Mapped[datetime.datetime]
    flag: Mapped[bool]

    def __str__(self) -> str:
        return self.title


class BenchNote(Model):
    """A foreign key to the big table: the admin searches it as you type."""

    __tablename__ = "bench_admin_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    row_id: Mapped[int] = mapped_column(ForeignKey("bench_admin_row.id"))


class RowAdmin(ModelAdmin):
    list_display = ("title", "created", "flag")
    search_fields = ("^title",)
    list_filter = ("flag",)
    date_hierarchy = "created"


class Staff:
    username, is_active, is_staff = "bench", True, True


class SignedIn:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["user"] = Staff()
        await self.app(scope, receive, send)


async def fill() -> None:
    engine = Database(url=URL).create_engine()
    async with engine.begin() as connection:
        tables = [BenchRow.__table__, BenchNote.__table__]
        await connection.run_sync(BenchRow.metadata.create_all, tables=tables)
        count = await connection.scalar(sa.select(sa.func.count()).select_from(BenchRow))
        first = await connection.scalar(sa.select(BenchRow.title).where(BenchRow.id == 1))
        if count != ROWS or first != "row-0000001":
            print(f"filling bench_admin_row with {ROWS:,} rows…")
            await connection.execute(sa.text("TRUNCATE bench_admin_row RESTART IDENTITY"))
            await connection.execute(
                sa.text(
                    "INSERT INTO bench_admin_row (title, body, created, flag) "
                    "SELECT 'row-' || lpad(g::text, 7, '0'), 'body of row ' || g, "
                    "timestamp '2024-01-01' + g * interval '1 minute', g % 3 = 0 "
                    f"FROM generate_series(1, {ROWS}) AS g"
                )
            )
            await connection.execute(sa.text("ANALYZE bench_admin_row"))
        await connection.execute(
            sa.text(
                "CREATE INDEX IF NOT EXISTS bench_admin_row_created ON bench_admin_row (created)"
            )
        )
    await engine.dispose()


def main() -> None:
    asyncio.run(fill())
    app = App()
    db = Database(app, URL)
    admin = Admin(app, db, csrf_required=False, history=False)
    admin.register(BenchRow, RowAdmin)
    admin.register(BenchNote)
    app.add_middleware(SignedIn)
    pages = {
        "first page": "/admin/benchrow/",
        "sorted by title": "/admin/benchrow/?o=title",
        "prefix search (100 rows)": "/admin/benchrow/?q=row-00500",
        "last page": "/admin/benchrow/?o=title&p=last",
        # The links a reader follows: the next and previous pages carry a key.
        "middle, next page by key": '/admin/benchrow/?p=10001&after=["500001"]',
        "middle, sorted, by key": '/admin/benchrow/?o=title&p=10001&after=["row-0500000","500000"]',
        "deep (page 19,000), by key": '/admin/benchrow/?o=title&p=19000&after=["row-0949950","949950"]',
        "before the last, by key": '/admin/benchrow/?o=title&p=19999&before=["row-0999951","999951"]',
        # Pages by number alone (typed in; not linked this deep): an OFFSET.
        "page 10,000 by number": "/admin/benchrow/?p=10000",
        "page 10,000 by number, sorted": "/admin/benchrow/?o=title&p=10000",
        "filtered (flag)": "/admin/benchrow/?flag__exact=true",
        # The date hierarchy (an index on created): one month's rows and its days' links.
        "a month (date hierarchy)": "/admin/benchrow/?created__year=2025&created__month=3",
        "a month, filtered (flag)": "/admin/benchrow/?created__year=2025&created__month=3"
        "&flag__exact=true",
        # A foreign key to the big table, searched as you type (20 rows by prefix).
        "autocomplete, typing 'row-0500'": "/admin/benchnote/autocomplete/?field=row_id"
        "&term=row-0500",
        "autocomplete, nothing typed yet": "/admin/benchnote/autocomplete/?field=row_id",
        "a note's add form (autocomplete)": "/admin/benchnote/add/",
    }
    results: dict[str, Any] = {}
    with TestClient(app) as client:
        for name, url in pages.items():
            times = []
            for _ in range(RUNS):
                start = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200, response.text
            results[name] = (statistics.median(times), min(times))
            text = response.text
            count = text.split('<span class="count">')[-1].split("<")[0] if "count" in text else ""
            print(
                f"{name:34} median {results[name][0]:7.1f} ms  min {results[name][1]:7.1f} ms  ({count})"
            )


if __name__ == "__main__":
    main()
