"""Notes: a database-backed API in one file — a model, CRUD endpoints, one handler of its own.

    plait run examples/notes/app.py:app

The first run creates ``notes.sqlite3`` in the current directory and applies the migrations
in ``examples/notes/migrations``; set ``PLAIT_DATABASE_URL=postgresql://…`` to use PostgreSQL
instead. Then open http://127.0.0.1:8000/ (which leads to the interactive docs), or::

    curl -X POST localhost:8000/notes -H 'content-type: application/json' \\
         -d '{"title": "Buy milk", "pinned": true}'
    curl 'localhost:8000/notes?pinned=true&sort=-created_at'
    curl 'localhost:8000/search?q=milk'

After changing the model: ``plait db makemigrations --app examples/notes/app.py:app -m "…"``.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Annotated

from sqlalchemy import String, func, or_, select
from sqlalchemy.orm import Mapped, mapped_column

from plait import App, Query, RedirectResponse, Settings
from plait.db import Database, Model, Page, PageNumber, PageSize, Session, crud_router, paginate

HERE = Path(__file__).resolve().parent


class NotesSettings(Settings):
    """The example's settings: its own SQLite file by default, and no signing key needed."""

    DATABASE_URL: str = "sqlite+aiosqlite:///./notes.sqlite3"
    secret_key_required = False


class Note(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(String(10_000), default="")
    pinned: Mapped[bool] = mapped_column(default=False, index=True)
    created_at: Mapped[datetime.datetime] = mapped_column(server_default=func.now())


settings = NotesSettings.load()
app = App(title="Notes", description="A database-backed plait example.")
db = Database(app, settings=settings, migrations=HERE / "migrations", auto_migrate=True)

# GET/POST /notes, GET/PATCH/DELETE /notes/{id}: paginated, filterable (?pinned=true),
# sortable (?sort=-created_at), validated from the model's columns.
app.include_router(crud_router(Note, sort_by=["id", "title", "pinned", "created_at"]))


@app.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    """The address ``make demo`` prints leads to the interactive docs."""
    return RedirectResponse("/docs")


SearchText = Annotated[
    str, Query(min_length=1, max_length=200, pattern="^[^\\x00]*$", description="Text to find.")
]


@app.get("/search")
async def search(
    q: SearchText, session: Session, page: PageNumber = 1, size: PageSize = 20
) -> Page[Note.Read]:
    """Notes whose title or body contains ``q``, pinned ones first."""
    query = (
        select(Note)
        .where(or_(Note.title.contains(q, autoescape=True), Note.body.contains(q, autoescape=True)))
        .order_by(Note.pinned.desc(), Note.id)
    )
    return await paginate(session, query, page=page, size=size)
