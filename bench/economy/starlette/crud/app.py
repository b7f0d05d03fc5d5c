from contextlib import asynccontextmanager

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.schemas import SchemaGenerator


class Base(DeclarativeBase):
    pass


class Post(Base):
    __tablename__ = "post"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str]
    published: Mapped[bool] = mapped_column(default=False)


class PostCreate(BaseModel):
    title: str = Field(max_length=200)
    body: str
    published: bool = False


class PostUpdate(BaseModel):
    title: str | None = Field(default=None, max_length=200)
    body: str | None = None
    published: bool | None = None


class PostRead(PostCreate):
    model_config = ConfigDict(from_attributes=True)
    id: int


engine = create_async_engine("sqlite+aiosqlite:///posts.sqlite3")
Session = async_sessionmaker(engine, expire_on_commit=False)
schemas = SchemaGenerator({"openapi": "3.0.0", "info": {"title": "Posts API", "version": "1.0"}})


def to_json(post, status_code=200):
    return JSONResponse(PostRead.model_validate(post).model_dump(), status_code=status_code)


async def get_post_or_404(session, request):
    post = await session.get(Post, request.path_params["post_id"])
    if post is None:
        raise HTTPException(status_code=404, detail="Post not found")
    return post


async def list_posts(request):
    """
    responses:
      200:
        description: A page of posts.
    """
    offset = int(request.query_params.get("offset", 0))
    limit = min(int(request.query_params.get("limit", 100)), 100)
    async with Session() as session:
        posts = await session.scalars(select(Post).offset(offset).limit(limit))
        return JSONResponse([PostRead.model_validate(post).model_dump() for post in posts])


async def create_post(request):
    """
    responses:
      201:
        description: The new post.
      422:
        description: An invalid post.
    """
    data = PostCreate.model_validate(await request.json())
    async with Session() as session:
        post = Post(**data.model_dump())
        session.add(post)
        await session.commit()
        return to_json(post, status_code=201)


async def read_post(request):
    """
    responses:
      200:
        description: A post.
      404:
        description: No such post.
    """
    async with Session() as session:
        return to_json(await get_post_or_404(session, request))


async def update_post(request):
    """
    responses:
      200:
        description: The updated post.
      404:
        description: No such post.
      422:
        description: An invalid change.
    """
    data = PostUpdate.model_validate(await request.json())
    async with Session() as session:
        post = await get_post_or_404(session, request)
        for key, value in data.model_dump(exclude_unset=True).items():
            setattr(post, key, value)
        await session.commit()
        return to_json(post)


async def delete_post(request):
    """
    responses:
      204:
        description: The post is deleted.
      404:
        description: No such post.
    """
    async with Session() as session:
        await session.delete(await get_post_or_404(session, request))
        await session.commit()
    return Response(status_code=204)


def openapi_schema(request):
    return schemas.OpenAPIResponse(request=request)


async def validation_error(request, exc):
    return JSONResponse({"detail": exc.errors(include_url=False)}, status_code=422)


@asynccontextmanager
async def lifespan(app):
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield
    await engine.dispose()


routes = [
    Route("/posts", list_posts, methods=["GET"]),
    Route("/posts", create_post, methods=["POST"]),
    Route("/posts/{post_id:int}", read_post, methods=["GET"]),
    Route("/posts/{post_id:int}", update_post, methods=["PATCH"]),
    Route("/posts/{post_id:int}", delete_post, methods=["DELETE"]),
    Route("/schema", openapi_schema, include_in_schema=False),
]
app = Starlette(
    routes=routes, lifespan=lifespan, exception_handlers={ValidationError: validation_error}
)
