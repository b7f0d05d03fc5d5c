"""Loading articles, comments and profiles with everything a response shows, in a fixed
number of queries.

An article's author, its profile and the reader's ``favorited``, ``favoritesCount`` and
``following`` come in the article's own SELECT (joins and correlated subqueries, through
SQLAlchemy's ``contains_eager`` and ``with_expression``); its tags in one more query for the
whole page (``selectinload``). A page of 100 articles costs what a page of one does.
"""

from typing import Any

from models import Article, Comment, Favorite, Follow, Profile, Tag
from sqlalchemy import ColumnElement, Select, exists, false, func, select
from sqlalchemy.orm import contains_eager, defer, selectinload, with_expression

from plait import HTTPException
from plait.auth import User

__all__ = [
    "article_filters",
    "articles",
    "comments",
    "count_articles",
    "following",
    "profile",
    "with_profile",
]


def following(reader_id: int | None) -> ColumnElement[bool]:
    """Whether the reader follows ``Profile`` (false for anonymous readers)."""
    if reader_id is None:
        return false()
    return exists().where(Follow.follower_id == reader_id, Follow.followed_id == Profile.user_id)


def with_profile(statement: Select[Any], relationship: Any, reader_id: int | None) -> Any:
    """Join the author's profile and user into ``statement`` and load them with its rows."""
    return (
        statement.join(relationship)
        .join(Profile.user)
        .options(
            contains_eager(relationship).contains_eager(Profile.user),
            contains_eager(relationship).with_expression(Profile.following, following(reader_id)),
        )
    )


def articles(reader_id: int | None, *, with_body: bool = True) -> Select[tuple[Article]]:
    """Articles with author, tags and the reader's favourite/follow flags."""
    favorites_count = (
        select(func.count()).where(Favorite.article_id == Article.id).scalar_subquery()
    )
    favorited: ColumnElement[bool] = false()
    if reader_id is not None:
        favorited = exists().where(Favorite.article_id == Article.id, Favorite.user_id == reader_id)
    statement = with_profile(select(Article), Article.author, reader_id).options(
        selectinload(Article.tag_list),
        with_expression(Article.favorited, favorited),
        with_expression(Article.favorites_count, favorites_count),
    )
    if not with_body:
        statement = statement.options(defer(Article.body))
    return statement  # type: ignore[no-any-return]


def article_filters(
    *,
    tag: str | None = None,
    author: str | None = None,
    favorited: str | None = None,
    followed_by: int | None = None,
) -> list[ColumnElement[bool]]:
    """The WHERE clauses of ``GET /articles`` and the feed."""
    filters: list[ColumnElement[bool]] = []
    if tag is not None:
        filters.append(Article.tag_list.any(Tag.name == tag))
    if author is not None:
        writer = select(User.id).where(User.username == author).scalar_subquery()
        filters.append(Article.author_id == writer)
    if favorited is not None:
        fans = select(Favorite.article_id).join(User, User.id == Favorite.user_id)
        filters.append(Article.id.in_(fans.where(User.username == favorited)))
    if followed_by is not None:
        followed = select(Follow.followed_id).where(Follow.follower_id == followed_by)
        filters.append(Article.author_id.in_(followed))
    return filters


def count_articles(filters: list[ColumnElement[bool]]) -> Select[tuple[int]]:
    return select(func.count()).select_from(Article).where(*filters)


def comments(article_id: int, reader_id: int | None) -> Select[tuple[Comment]]:
    statement = select(Comment).where(Comment.article_id == article_id)
    return with_profile(statement, Comment.author, reader_id).order_by(  # type: ignore[no-any-return]
        Comment.created_at.desc(), Comment.id.desc()
    )


async def profile(session: Any, username: str, reader_id: int | None) -> Profile:
    """The profile of ``username`` with ``following`` for the reader, or a 404."""
    statement = (
        select(Profile)
        .join(Profile.user)
        .options(
            contains_eager(Profile.user),
            with_expression(Profile.following, following(reader_id)),
        )
    )
    found: Profile | None = await session.scalar(statement.where(User.username == username))
    if found is None:
        raise HTTPException(404, "profile not found")
    return found
