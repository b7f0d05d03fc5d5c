"""Models and a small blog app shared by the data-layer tests."""

from __future__ import annotations

import datetime
import enum
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import CheckConstraint, ForeignKey, String, Text, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from plait import App
from plait.db import (
    Database,
    Model,
    Page,
    PageNumber,
    PageSize,
    SchemaOptions,
    Session,
    apply,
    crud_router,
    get_or_404,
    paginate,
)
from plait.testing import TestClient


class Status(enum.Enum):
    DRAFT = "draft"
    LIVE = "live"


class Author(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    email: Mapped[str | None] = mapped_column(String(200))
    password: Mapped[str] = mapped_column(String(100), info={"write_only": True})
    articles: Mapped[list[Article]] = relationship(back_populates="author")


class Article(Model):
    __table_args__ = (CheckConstraint("views >= 0", name="views_not_negative"),)
    __schema_options__ = SchemaOptions(exclude=("internal_note",))

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200), unique=True)
    body: Mapped[str] = mapped_column(Text, comment="The article's text, in Markdown.")
    views: Mapped[int] = mapped_column(default=0)
    rating: Mapped[int | None] = mapped_column(sa.SmallInteger)
    published: Mapped[bool] = mapped_column(default=False)
    status: Mapped[Status] = mapped_column(default=Status.DRAFT)
    tags: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    internal_note: Mapped[str | None]
    created_at: Mapped[datetime.datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime.datetime | None] = mapped_column(onupdate=func.now())
    author_id: Mapped[int | None] = mapped_column(ForeignKey("author.id"), index=True)
    author: Mapped[Author | None] = relationship(back_populates="articles")


def build_app(url: str, **options: Any) -> tuple[App, Database]:
    """A blog API: hand-written endpoints for articles, crud_router for authors."""
    app = App()
    db = Database(app, url, **options)

    @app.post("/articles", status_code=201, responses={409: "Duplicate title"})
    async def create_article(data: Article.Create, session: Session) -> Article.Read:
        article = Article(data)
        session.add(article)
        return article

    @app.get("/articles")
    async def list_articles(
        session: Session, page: PageNumber = 1, size: PageSize = 20
    ) -> Page[Article.Read]:
        query = select(Article).order_by(Article.id)
        return await paginate(session, query, page=page, size=size)

    @app.get("/articles/{article_id}")
    async def get_article(article_id: int, session: Session) -> Article.Read:
        return await get_or_404(session, Article, article_id)

    @app.patch("/articles/{article_id}")
    async def edit_article(article_id: int, data: Article.Update, session: Session) -> Article.Read:
        article = await get_or_404(session, Article, article_id)
        apply(article, data)
        await session.flush()
        await session.refresh(article)
        return article

    app.include_router(crud_router(Author))
    return app, db


@contextmanager
def serving(url: str, **options: Any) -> Iterator[TestClient]:
    """The blog app on ``url`` with its tables created, through a test client."""
    app, _ = build_app(url, auto_migrate=True, migrations="/nonexistent", **options)
    with TestClient(app) as client:
        yield client
