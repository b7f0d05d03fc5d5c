"""Articles, the feed, favourites, comments and tags."""

import re
import secrets
import unicodedata
from typing import Annotated

from models import Article, ArticleTag, Comment, Favorite, Tag
from queries import article_filters, articles, comments, count_articles
from schemas import (
    ArticleBody,
    ArticleList,
    CommentBody,
    CommentList,
    NewArticleBody,
    NewCommentBody,
    TagList,
    UpdateArticleBody,
    article_view,
    comment_view,
)
from sqlalchemy import delete, exists, select
from users import own_profile

from plait import HTTPException, Query, Router
from plait.auth import CurrentUser, LoginRequired, User
from plait.db import Limit, Offset, Session, apply

__all__ = ["router"]

router = Router()
NOT_FOUND = {404: "No article with this slug"}
NOT_YOURS = {403: "Only the author may do this"}
REFUSED = {401: "A token was sent and refused (without one, anyone may read)"}
Name = Annotated[str, Query(max_length=150)]


def slugify(title: str) -> str:
    """``"How to train your dragon?"`` -> ``"how-to-train-your-dragon"`` (ASCII, at most 200)."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:200].strip("-")


async def unique_slug(session: Session, title: str) -> str:
    """The title's slug, with a random suffix when another article has it already."""
    slug = slugify(title) or "article"
    while await session.scalar(select(exists().where(Article.slug == slug))):
        slug = f"{slugify(title) or 'article'}-{secrets.token_hex(3)}"
    return slug


async def find(session: Session, slug: str, user: User | None) -> Article:
    """The article at ``slug``, with all it shows, or a 404."""
    found = await session.scalar(articles(user and user.id).where(Article.slug == slug))
    if found is None:
        raise HTTPException(404, "article not found")
    return found


async def own(session: Session, slug: str, user: User) -> Article:
    """The user's own article at ``slug``: 404 if there is none, 403 if it is another's."""
    found = await find(session, slug, user)
    if found.author_id != user.id:
        raise HTTPException(403, "only the author may change this article")
    return found


async def reloaded(session: Session, article_id: int, user: User) -> ArticleBody:
    """An article read back after a write, with its counts, tags and author as now stored."""
    await session.flush()
    statement = articles(user.id).where(Article.id == article_id)
    found = await session.scalar(statement.execution_options(populate_existing=True))
    assert found is not None
    return ArticleBody(article_view(found))


@router.get("/articles", responses=REFUSED)
async def list_articles(
    session: Session,
    user: CurrentUser,
    tag: Annotated[str | None, Query(max_length=100)] = None,
    author: Name | None = None,
    favorited: Name | None = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> ArticleList:
    """Articles, most recent first, filtered by tag, author or who favourited them."""
    filters = article_filters(tag=tag, author=author, favorited=favorited)
    return await page(session, user, filters, limit, offset)


@router.get("/articles/feed")
async def feed(
    session: Session, user: LoginRequired, limit: Limit = 20, offset: Offset = 0
) -> ArticleList:
    """Articles by the users the reader follows, most recent first."""
    return await page(session, user, article_filters(followed_by=user.id), limit, offset)


async def page(
    session: Session, user: User | None, filters: list, limit: int, offset: int
) -> ArticleList:
    total = await session.scalar(count_articles(filters)) or 0
    statement = (
        articles(user and user.id, with_body=False)
        .where(*filters)
        .order_by(Article.created_at.desc(), Article.id.desc())
        .limit(limit)
        .offset(offset)
    )
    found = (await session.scalars(statement)).all()
    return ArticleList([article_view(a, with_body=False) for a in found], total)


@router.get("/articles/{slug}", responses={**NOT_FOUND, **REFUSED})
async def get_article(slug: str, session: Session, user: CurrentUser) -> ArticleBody:
    return ArticleBody(article_view(await find(session, slug, user)))


@router.post("/articles", status_code=201)
async def create_article(
    body: NewArticleBody, session: Session, user: LoginRequired
) -> ArticleBody:
    """Write an article; new tags are created."""
    await own_profile(session, user)
    data = body.article
    article = Article(data, slug=await unique_slug(session, data.title), author_id=user.id)
    session.add(article)
    await session.flush()
    return await reloaded(session, article.id, user)


@router.put("/articles/{slug}", responses={**NOT_FOUND, **NOT_YOURS})
async def update_article(
    slug: str, body: UpdateArticleBody, session: Session, user: LoginRequired
) -> ArticleBody:
    """Change an article's title, description, body or tags; the slug follows the title."""
    article = await own(session, slug, user)
    changes = body.article
    if isinstance(changes.title, str) and changes.title != article.title:
        article.slug = await unique_slug(session, changes.title)
    apply(article, changes)
    return await reloaded(session, article.id, user)


@router.delete("/articles/{slug}", status_code=200, responses={**NOT_FOUND, **NOT_YOURS})
async def delete_article(slug: str, session: Session, user: LoginRequired) -> None:
    await session.delete(await own(session, slug, user))


@router.post("/articles/{slug}/favorite", responses=NOT_FOUND)
async def favorite(slug: str, session: Session, user: LoginRequired) -> ArticleBody:
    """Favourite an article (twice changes nothing)."""
    article = await find(session, slug, user)
    if not article.favorited:
        await own_profile(session, user)
        session.add(Favorite(user_id=user.id, article_id=article.id))
    return await reloaded(session, article.id, user)


@router.delete("/articles/{slug}/favorite", responses=NOT_FOUND)
async def unfavorite(slug: str, session: Session, user: LoginRequired) -> ArticleBody:
    article = await find(session, slug, user)
    await session.execute(
        delete(Favorite).where(Favorite.user_id == user.id, Favorite.article_id == article.id)
    )
    return await reloaded(session, article.id, user)


@router.get("/articles/{slug}/comments", responses={**NOT_FOUND, **REFUSED})
async def list_comments(slug: str, session: Session, user: CurrentUser) -> CommentList:
    """An article's comments, most recent first."""
    article_id = await session.scalar(select(Article.id).where(Article.slug == slug))
    if article_id is None:
        raise HTTPException(404, "article not found")
    found = await session.scalars(comments(article_id, user and user.id))
    return CommentList([comment_view(c) for c in found])


@router.post("/articles/{slug}/comments", responses=NOT_FOUND)
async def add_comment(
    slug: str, body: NewCommentBody, session: Session, user: LoginRequired
) -> CommentBody:
    article_id = await session.scalar(select(Article.id).where(Article.slug == slug))
    if article_id is None:
        raise HTTPException(404, "article not found")
    await own_profile(session, user)
    comment = Comment(body.comment, article_id=article_id, author_id=user.id)
    session.add(comment)
    await session.flush()
    found = await session.scalar(comments(article_id, user.id).where(Comment.id == comment.id))
    assert found is not None
    return CommentBody(comment_view(found))


@router.delete(
    "/articles/{slug}/comments/{comment_id:int}",
    status_code=200,
    responses={404: "No such article or comment", **NOT_YOURS},
)
async def delete_comment(
    slug: str, comment_id: Comment.Key, session: Session, user: LoginRequired
) -> None:
    comment = await session.scalar(
        select(Comment).join(Article).where(Article.slug == slug, Comment.id == comment_id)
    )
    if comment is None:
        raise HTTPException(404, "comment not found")
    if comment.author_id != user.id:
        raise HTTPException(403, "only its author may delete this comment")
    await session.delete(comment)


@router.get("/tags")
async def tags(session: Session) -> TagList:
    """Every tag in use, in alphabetical order."""
    used = select(ArticleTag.tag_id)
    names = await session.scalars(select(Tag.name).where(Tag.id.in_(used)).order_by(Tag.name))
    return TagList(list(names))
