"""Conduit's tables: profiles, follows, articles with tags, favourites and comments.

Accounts are plait.auth's ``User`` (username, e-mail, Argon2 password); a ``Profile`` adds
what RealWorld shows of a person (bio, image), one row per user, as Django's profile models
do. Tables are named ``conduit_*``, Django's app-label habit, so the example shares a
database with others without a clash.

The per-reader values (``favorited``, ``favoritesCount``, ``following``) are SQLAlchemy
query expressions: every list query computes them in its own SELECT, so a page of articles
costs the same few queries whatever its size (see ``queries.py``).
"""

import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from plait.auth import User
from plait.db import Model, Relation, SchemaOptions

__all__ = ["Article", "ArticleTag", "Comment", "Favorite", "Follow", "Profile", "Tag"]

NOT_EMPTY = {"min_length": 1}  # RealWorld: "can't be empty"


def now() -> datetime.datetime:
    """The current time, to the millisecond: what the API shows is what is stored."""
    moment = datetime.datetime.now(datetime.UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


class Profile(Model):
    """What RealWorld shows of a user beyond plait.auth's ``User``: a bio and an image."""

    __tablename__ = "conduit_profile"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("auth_user.id", ondelete="CASCADE"), primary_key=True
    )
    bio: Mapped[str | None] = mapped_column(String(5000))
    image: Mapped[str | None] = mapped_column(String(2000))
    user: Mapped[User] = relationship(lazy="raise")
    following: Mapped[bool] = query_expression()


class Follow(Model):
    """``follower`` follows ``followed``."""

    __tablename__ = "conduit_follow"

    follower_id: Mapped[int] = mapped_column(
        ForeignKey("conduit_profile.user_id", ondelete="CASCADE"), primary_key=True
    )
    followed_id: Mapped[int] = mapped_column(
        ForeignKey("conduit_profile.user_id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Tag(Model):
    __tablename__ = "conduit_tag"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True, info=NOT_EMPTY)


class ArticleTag(Model):
    """The tags of an article (the many-to-many link)."""

    __tablename__ = "conduit_article_tag"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("conduit_article.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(
        ForeignKey("conduit_tag.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Article(Model):
    """An article; ``Article.Create`` takes ``title``, ``description``, ``body`` and
    ``tagList`` (tag names, created when new), ``Article.Update`` any of them."""

    __tablename__ = "conduit_article"
    __schema_options__ = SchemaOptions(
        rename="camel",
        read_only=("slug", "author_id", "created_at", "updated_at"),
        relations={"tag_list": Relation(key="name", create_missing=True)},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(255), unique=True)
    title: Mapped[str] = mapped_column(String(255), info=NOT_EMPTY)
    description: Mapped[str] = mapped_column(String(2000), info=NOT_EMPTY)
    body: Mapped[str] = mapped_column(Text, info=NOT_EMPTY)
    created_at: Mapped[datetime.datetime] = mapped_column(default=now, index=True)
    updated_at: Mapped[datetime.datetime] = mapped_column(default=now, onupdate=now)
    author_id: Mapped[int] = mapped_column(
        ForeignKey("conduit_profile.user_id", ondelete="CASCADE"), index=True
    )
    author: Mapped[Profile] = relationship(lazy="raise")
    tag_list: Mapped[list[Tag]] = relationship(
        secondary=ArticleTag.__table__, order_by=Tag.name, lazy="raise"
    )
    favorited: Mapped[bool] = query_expression()
    favorites_count: Mapped[int] = query_expression()


class Favorite(Model):
    """``user`` has favourited ``article``."""

    __tablename__ = "conduit_favorite"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("conduit_profile.user_id", ondelete="CASCADE"), primary_key=True
    )
    article_id: Mapped[int] = mapped_column(
        ForeignKey("conduit_article.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Comment(Model):
    __tablename__ = "conduit_comment"
    __schema_options__ = SchemaOptions(
        read_only=("article_id", "author_id", "created_at", "updated_at")
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(Text, info=NOT_EMPTY)
    created_at: Mapped[datetime.datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime.datetime] = mapped_column(default=now, onupdate=now)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("conduit_article.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(
        ForeignKey("conduit_profile.user_id", ondelete="CASCADE"), index=True
    )
    author: Mapped[Profile] = relationship(lazy="raise")
