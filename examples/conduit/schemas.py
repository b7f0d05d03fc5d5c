"""The RealWorld JSON shapes: request bodies derived from the models, wrapped the way the
spec wraps them (``{"user": {...}}``, ``{"article": {...}}``), and the responses.

Requests reuse the models' derived schemas (``Article.Create``: lengths from the columns,
"can't be empty" from ``info={"min_length": 1}``, unknown fields refused, ``tagList`` from
``SchemaOptions(rename="camel")``). Responses are written out, because RealWorld shows
timestamps to the millisecond (``2016-02-18T03:22:56.637Z``) and mixes in per-reader values.
"""

import datetime
from typing import Annotated

from models import Article, Comment, Profile
from msgspec import UNSET, Meta, Struct, UnsetType

__all__ = [
    "ArticleBody",
    "ArticleList",
    "ArticleView",
    "CommentBody",
    "CommentList",
    "CommentView",
    "Errors",
    "LoginBody",
    "NewArticleBody",
    "NewCommentBody",
    "NewUserBody",
    "ProfileBody",
    "ProfileView",
    "TagList",
    "UpdateArticleBody",
    "UpdateUserBody",
    "UserBody",
    "UserView",
    "article_view",
    "comment_view",
    "profile_view",
    "timestamp",
]

# ---------------------------------------------------------------- requests

# plait.auth's User: usernames of at most 150 of Django's characters, e-mails of at most 254.
Username = Annotated[str, Meta(min_length=1, max_length=150, pattern=r"^[\w.@+-]+$")]
Email = Annotated[
    str, Meta(min_length=1, max_length=254, pattern=r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$")
]
Password = Annotated[str, Meta(min_length=8, max_length=4096, pattern=r"^[^\x00]*$")]


class NewUser(Struct, forbid_unknown_fields=True):
    username: Username
    email: Email
    password: Password


class NewUserBody(Struct):
    user: NewUser


class Login(Struct, forbid_unknown_fields=True):
    email: Annotated[str, Meta(min_length=1, max_length=254)]
    password: Annotated[str, Meta(min_length=1, max_length=4096)]


class LoginBody(Struct):
    user: Login


class UpdateUser(Profile.Update, kw_only=True, forbid_unknown_fields=False):
    """Any of the account's fields (plait.auth's ``User``) and the profile's."""

    username: Username | UnsetType = UNSET
    email: Email | UnsetType = UNSET
    password: Password | UnsetType = UNSET


class UpdateUserBody(Struct):
    user: UpdateUser


class NewArticleBody(Struct):
    article: Article.Create


class UpdateArticleBody(Struct):
    article: Article.Update


class NewCommentBody(Struct):
    comment: Comment.Create


# ---------------------------------------------------------------- responses

Timestamp = Annotated[str, Meta(extra_json_schema={"format": "date-time"})]


def timestamp(moment: datetime.datetime) -> str:
    """ISO 8601 in UTC to the millisecond, as RealWorld shows it: ``2016-02-18T03:22:56.637Z``."""
    utc = moment.astimezone(datetime.UTC)
    return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class UserView(Struct):
    email: str
    token: str
    username: str
    bio: str | None
    image: str | None


class UserBody(Struct):
    user: UserView


class ProfileView(Struct):
    username: str
    bio: str | None
    image: str | None
    following: bool


class ProfileBody(Struct):
    profile: ProfileView


class ArticleView(Struct, rename="camel", omit_defaults=True):
    slug: str
    title: str
    description: str
    tag_list: list[str]
    created_at: Timestamp
    updated_at: Timestamp
    favorited: bool
    favorites_count: int
    author: ProfileView
    body: str | UnsetType = UNSET
    """Left out of lists (RealWorld's list items carry no body)."""


class ArticleBody(Struct):
    article: ArticleView


class ArticleList(Struct):
    articles: list[ArticleView]
    articlesCount: int  # RealWorld's name


class CommentView(Struct, rename="camel"):
    id: int
    body: str
    created_at: Timestamp
    updated_at: Timestamp
    author: ProfileView


class CommentBody(Struct):
    comment: CommentView


class CommentList(Struct):
    comments: list[CommentView]


class TagList(Struct):
    tags: list[str]


class Errors(Struct):
    """RealWorld's error body: ``{"errors": {"title": ["can't be empty"]}}``."""

    errors: dict[str, list[str]]


def profile_view(profile: Profile, following: bool | None = None) -> ProfileView:
    followed = profile.following if following is None else following
    return ProfileView(profile.user.username, profile.bio, profile.image, bool(followed))


def article_view(article: Article, *, with_body: bool = True) -> ArticleView:
    return ArticleView(
        slug=article.slug,
        title=article.title,
        description=article.description,
        body=article.body if with_body else UNSET,
        tag_list=[tag.name for tag in article.tag_list],
        created_at=timestamp(article.created_at),
        updated_at=timestamp(article.updated_at),
        favorited=bool(article.favorited),
        favorites_count=article.favorites_count or 0,
        author=profile_view(article.author),
    )


def comment_view(comment: Comment) -> CommentView:
    return CommentView(
        comment.id,
        comment.body,
        timestamp(comment.created_at),
        timestamp(comment.updated_at),
        profile_view(comment.author),
    )
