"""Two related models, a stand-in for plait.auth/plait.csrf, and an app with the admin."""

from __future__ import annotations

import datetime
import enum
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ForeignKey, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from plait import App
from plait.admin import Admin, ModelAdmin
from plait.db import Database, Model, Session, crud_router
from plait.db.testing import rolled_back
from plait.testing import TestClient
from plait.types import ASGIApp, Receive, Scope, Send

CSRF_TOKEN = "test-csrf-token"


class Mood(enum.Enum):
    CALM = "calm"
    STORMY = "stormy"


class Writer(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    email: Mapped[str | None] = mapped_column(String(200))
    secret: Mapped[str | None] = mapped_column(String(50), info={"write_only": True})

    def __str__(self) -> str:
        return self.name


class Story(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(40), unique=True)
    body: Mapped[str] = mapped_column(Text)
    views: Mapped[int] = mapped_column(default=0)
    published: Mapped[bool] = mapped_column(default=False)
    mood: Mapped[Mood] = mapped_column(default=Mood.CALM)
    published_on: Mapped[datetime.date | None]
    scheduled_at: Mapped[datetime.datetime | None]
    featured: Mapped[bool | None]
    tone: Mapped[Mood | None]
    created_at: Mapped[datetime.datetime] = mapped_column(server_default=func.now())
    writer_id: Mapped[int] = mapped_column(ForeignKey("writer.id"))


class Token(Model):
    """Not registered by make_app: no ``__str__``, a write-only column."""

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(50))
    value: Mapped[str] = mapped_column(String(64), info={"write_only": True})


@dataclass
class User:
    """What the admin reads of plait.auth's User (duck-typed)."""

    username: str
    is_staff: bool = True
    is_active: bool = True


STAFF = User("ada")


class Who:
    """The signed-in user of the next requests (None: anonymous)."""

    user: Any = STAFF


class FakeAuthAndCSRF:
    """Sets what plait.auth and plait.csrf set: ``scope["user"]`` and ``scope["csrf_token"]``."""

    def __init__(self, app: ASGIApp, who: type[Who], csrf: bool = True) -> None:
        self.app, self.who, self.csrf = app, who, csrf

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if self.who.user is not None:
                scope["user"] = self.who.user
            if self.csrf:
                scope["csrf_token"] = lambda: CSRF_TOKEN
        await self.app(scope, receive, send)


class StoryAdmin(ModelAdmin):
    list_display = ("title", "writer_id", "views", "published")
    search_fields = ("title", "body")
    list_filter = ("published", "mood", "writer_id")
    per_page = 3


def make_app(db_url: str, **options: Any) -> tuple[App, Database, Admin]:
    app = App()
    db = Database(app, db_url)
    admin = Admin(app, db, **{"csrf_required": False, **options})
    admin.register(Writer, search_fields=("name",))
    admin.register(Story, StoryAdmin)
    app.include_router(crud_router(Writer, prefix="/api/writers"))
    app.include_router(crud_router(Story, prefix="/api/stories"))
    app.add_middleware(FakeAuthAndCSRF, who=Who)

    @app.get("/_test/writers/{writer_id}/secret", include_in_schema=False)
    async def secret(writer_id: int, session: Session) -> dict[str, str | None]:
        writer = await session.get(Writer, writer_id)
        return {"secret": writer.secret if writer else None}

    return app, db, admin


@contextmanager
def serve(app: App, db: Database) -> Iterator[TestClient]:
    Who.user = STAFF
    try:
        with rolled_back(db, create_all=True), TestClient(app, follow_redirects=False) as client:
            yield client
    finally:
        Who.user = STAFF


def add_writer(client: TestClient, name: str, email: str | None = None) -> int:
    response = client.post("/api/writers", json={"name": name, "email": email})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def add_story(client: TestClient, title: str, writer_id: int, **fields: Any) -> int:
    body = {"title": title, "body": fields.pop("body", "text"), "writer_id": writer_id, **fields}
    response = client.post("/api/stories", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])
