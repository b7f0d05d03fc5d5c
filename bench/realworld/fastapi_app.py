"""The benchmarked RealWorld endpoints in FastAPI + SQLAlchemy 2 (async), the way their docs
teach: declarative models, an ``AsyncSession`` dependency, Pydantic request and response
models, JWTs with PyJWT and passwords with pwdlib (FastAPI's security tutorial), eager loading
with ``selectinload``.

``POST /api/users`` (register, with a token), ``GET /api/articles`` (20 by default, most recent
first, with authors, tags, favourites and follows), ``POST /api/articles``. The database is
``RW_DATABASE_URL`` (``postgresql+asyncpg://…`` or ``sqlite+aiosqlite://…``).
"""

from __future__ import annotations

import datetime
import os
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import jwt
from fastapi import Depends, FastAPI, Header, HTTPException, Query
from pwdlib import PasswordHash
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from sqlalchemy import Column, DateTime, ForeignKey, String, Table, Text, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, selectinload

SECRET_KEY = os.environ.get("RW_SECRET_KEY", secrets.token_hex(32))
ALGORITHM = "HS256"
engine = create_async_engine(os.environ.get("RW_DATABASE_URL", "sqlite+aiosqlite:///rw.db"))
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)
password_hash = PasswordHash.recommended()


class Base(DeclarativeBase):
    pass


article_tags = Table(
    "article_tags",
    Base.metadata,
    Column("article_id", ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
)
follows = Table(
    "follows",
    Base.metadata,
    Column("follower_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("followed_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)
favorites = Table(
    "favorites",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("article_id", ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    hashed_password: Mapped[str] = mapped_column(String(255))
    bio: Mapped[str | None] = mapped_column(Text)
    image: Mapped[str | None] = mapped_column(String(2000))


class Tag(Base):
    __tablename__ = "tags"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)


class Article(Base):
    __tablename__ = "articles"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(255), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(String(2000))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime.datetime] = mapped_column(
        DateTime(timezone=True), default=lambda: datetime.datetime.now(datetime.UTC), index=True
    )
    updated_at: Mapped[datetime.datetime] = mapped_column(
        DateTime(timezone=True), default=lambda: datetime.datetime.now(datetime.UTC)
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    author: Mapped[User] = relationship()
    tags: Mapped[list[Tag]] = relationship(secondary=article_tags, order_by=Tag.name)


async def get_session() -> AsyncIterator[AsyncSession]:
    async with SessionLocal() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


# ------------------------------------------------------------------ schemas


class CamelModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class NewUser(BaseModel):
    username: str = Field(min_length=1, max_length=150)
    email: str = Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    password: str = Field(min_length=8)


class NewUserRequest(BaseModel):
    user: NewUser


class UserOut(BaseModel):
    email: str
    token: str
    username: str
    bio: str | None
    image: str | None


class UserResponse(BaseModel):
    user: UserOut


class NewArticle(CamelModel):
    title: str = Field(min_length=1, max_length=255)
    description: str = Field(min_length=1, max_length=2000)
    body: str = Field(min_length=1)
    tag_list: list[str] = []


class NewArticleRequest(BaseModel):
    article: NewArticle


class Profile(BaseModel):
    username: str
    bio: str | None
    image: str | None
    following: bool


class ArticleOut(CamelModel):
    slug: str
    title: str
    description: str
    body: str | None = None
    tag_list: list[str]
    created_at: datetime.datetime
    updated_at: datetime.datetime
    favorited: bool
    favorites_count: int
    author: Profile


class ArticleResponse(BaseModel):
    article: ArticleOut


class ArticleList(CamelModel):
    articles: list[ArticleOut]
    articles_count: int


# ------------------------------------------------------------------ auth


def create_access_token(user: User) -> str:
    expire = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=7)
    return jwt.encode({"sub": str(user.id), "exp": expire}, SECRET_KEY, algorithm=ALGORITHM)


async def get_current_user_optional(
    session: SessionDep, authorization: Annotated[str | None, Header()] = None
) -> User | None:
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    try:
        if scheme.lower() != "token":
            raise jwt.InvalidTokenError
        user_id = int(jwt.decode(token, SECRET_KEY, algorithms=[ALGORITHM])["sub"])
    except (jwt.InvalidTokenError, KeyError, ValueError):
        raise HTTPException(401, "Could not validate credentials") from None
    user = await session.get(User, user_id)
    if user is None:
        raise HTTPException(401, "Could not validate credentials")
    return user


async def get_current_user(
    user: Annotated[User | None, Depends(get_current_user_optional)],
) -> User:
    if user is None:
        raise HTTPException(401, "Not authenticated")
    return user


# ------------------------------------------------------------------ the app


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan)


@app.post("/api/users", status_code=201, response_model=UserResponse)
async def register(data: NewUserRequest, session: SessionDep) -> UserResponse:
    user = User(
        username=data.user.username,
        email=data.user.email,
        hashed_password=password_hash.hash(data.user.password),
    )
    session.add(user)
    await session.commit()
    return UserResponse(user=user_out(user))


@app.get("/api/user", response_model=UserResponse)
async def current_user(user: Annotated[User, Depends(get_current_user)]) -> UserResponse:
    return UserResponse(user=user_out(user))


def user_out(user: User) -> UserOut:
    return UserOut(
        email=user.email,
        token=create_access_token(user),
        username=user.username,
        bio=user.bio,
        image=user.image,
    )


async def to_articles(
    session: AsyncSession, articles: list[Article], reader: User | None, with_body: bool
) -> list[ArticleOut]:
    ids = [article.id for article in articles]
    counts = dict(
        (
            await session.execute(
                select(favorites.c.article_id, func.count())
                .where(favorites.c.article_id.in_(ids))
                .group_by(favorites.c.article_id)
            )
        ).all()
    )
    liked: set[int] = set()
    followed: set[int] = set()
    if reader is not None:
        liked = set(
            await session.scalars(
                select(favorites.c.article_id).where(
                    favorites.c.user_id == reader.id, favorites.c.article_id.in_(ids)
                )
            )
        )
        followed = set(
            await session.scalars(
                select(follows.c.followed_id).where(follows.c.follower_id == reader.id)
            )
        )
    return [
        ArticleOut(
            **({"body": article.body} if with_body else {}),
            slug=article.slug,
            title=article.title,
            description=article.description,
            tag_list=[tag.name for tag in article.tags],
            created_at=article.created_at,
            updated_at=article.updated_at,
            favorited=article.id in liked,
            favorites_count=counts.get(article.id, 0),
            author=Profile(
                username=article.author.username,
                bio=article.author.bio,
                image=article.author.image,
                following=article.author_id in followed,
            ),
        )
        for article in articles
    ]


@app.get("/api/articles", response_model=ArticleList, response_model_exclude_unset=True)
async def list_articles(
    session: SessionDep,
    reader: Annotated[User | None, Depends(get_current_user_optional)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ArticleList:
    total = await session.scalar(select(func.count()).select_from(Article))
    query = (
        select(Article)
        .options(selectinload(Article.author), selectinload(Article.tags))
        .order_by(Article.created_at.desc(), Article.id.desc())
        .limit(limit)
        .offset(offset)
    )
    articles = list(await session.scalars(query))
    items = await to_articles(session, articles, reader, with_body=False)
    return ArticleList(articles=items, articles_count=total or 0)


def slugify(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "article"


@app.post("/api/articles", status_code=201, response_model=ArticleResponse)
async def create_article(
    data: NewArticleRequest,
    session: SessionDep,
    user: Annotated[User, Depends(get_current_user)],
) -> ArticleResponse:
    slug = slugify(data.article.title)
    if await session.scalar(select(Article.id).where(Article.slug == slug)) is not None:
        slug = f"{slug}-{secrets.token_hex(3)}"
    names = sorted(set(data.article.tag_list))
    tags = list(await session.scalars(select(Tag).where(Tag.name.in_(names))))
    tags += [Tag(name=name) for name in set(names) - {tag.name for tag in tags}]
    article = Article(
        slug=slug,
        title=data.article.title,
        description=data.article.description,
        body=data.article.body,
        author=user,
        tags=sorted(tags, key=lambda tag: tag.name),
    )
    session.add(article)
    await session.commit()
    (item,) = await to_articles(session, [article], user, with_body=True)
    return ArticleResponse(article=item)
