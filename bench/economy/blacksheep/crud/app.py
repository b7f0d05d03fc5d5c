from blacksheep import Application, created, delete, get, no_content, patch, post
from blacksheep.exceptions import NotFound
from blacksheep.server.openapi.v3 import OpenAPIHandler
from openapidocs.v3 import Info
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


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

app = Application()
docs = OpenAPIHandler(info=Info(title="Posts API", version="0.0.1"))
docs.bind_app(app)


@app.on_start
async def create_tables(app: Application) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)


@app.on_stop
async def dispose_engine(app: Application) -> None:
    await engine.dispose()


async def get_post_or_404(session, post_id):
    post = await session.get(Post, post_id)
    if post is None:
        raise NotFound("Post not found")
    return post


@get("/posts")
async def list_posts(offset: int = 0, limit: int = 100) -> list[PostRead]:
    async with Session() as session:
        posts = await session.scalars(select(Post).offset(offset).limit(min(limit, 100)))
        return [PostRead.model_validate(post) for post in posts]


@post("/posts")
async def create_post(data: PostCreate) -> PostRead:
    async with Session() as session:
        post = Post(**data.model_dump())
        session.add(post)
        await session.commit()
        return created(PostRead.model_validate(post))


@get("/posts/{post_id}")
async def read_post(post_id: int) -> PostRead:
    async with Session() as session:
        return PostRead.model_validate(await get_post_or_404(session, post_id))


@patch("/posts/{post_id}")
async def update_post(post_id: int, data: PostUpdate) -> PostRead:
    async with Session() as session:
        post = await get_post_or_404(session, post_id)
        for key, value in data.model_dump(exclude_unset=True).items():
            setattr(post, key, value)
        await session.commit()
        return PostRead.model_validate(post)


@delete("/posts/{post_id}")
async def delete_post(post_id: int) -> None:
    async with Session() as session:
        await session.delete(await get_post_or_404(session, post_id))
        await session.commit()
    return no_content()
