from typing import Annotated

from advanced_alchemy.extensions.litestar import (
    AsyncSessionConfig,
    SQLAlchemyAsyncConfig,
    SQLAlchemyPlugin,
    base,
    filters,
    providers,
    repository,
    service,
)
from litestar import Controller, Litestar, delete, get, patch, post
from litestar.params import Dependency
from msgspec import UNSET, Meta, Struct, UnsetType
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column


class Post(base.BigIntBase):
    __tablename__ = "post"
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str]
    published: Mapped[bool] = mapped_column(default=False)


Title = Annotated[str, Meta(max_length=200)]


class PostRead(Struct):
    id: int
    title: str
    body: str
    published: bool


class PostCreate(Struct):
    title: Title
    body: str
    published: bool = False


class PostUpdate(Struct):
    title: Title | UnsetType = UNSET
    body: str | UnsetType = UNSET
    published: bool | UnsetType = UNSET


class PostService(service.SQLAlchemyAsyncRepositoryService[Post]):
    class Repo(repository.SQLAlchemyAsyncRepository[Post]):
        model_type = Post

    repository_type = Repo


class PostController(Controller):
    path = "/posts"
    dependencies = providers.create_service_dependencies(
        PostService, "posts_service", filters={"pagination_type": "limit_offset"}
    )

    @get()
    async def list_posts(
        self,
        posts_service: PostService,
        filters: Annotated[list[filters.FilterTypes], Dependency(skip_validation=True)],
    ) -> service.OffsetPagination[PostRead]:
        results, total = await posts_service.get_many_and_count(*filters)
        return posts_service.to_schema(results, total, filters=filters, schema_type=PostRead)

    @post()
    async def create_post(self, posts_service: PostService, data: PostCreate) -> PostRead:
        obj = await posts_service.create(data)
        return posts_service.to_schema(obj, schema_type=PostRead)

    @get("/{post_id:int}")
    async def get_post(self, posts_service: PostService, post_id: int) -> PostRead:
        obj = await posts_service.get(post_id)
        return posts_service.to_schema(obj, schema_type=PostRead)

    @patch("/{post_id:int}")
    async def update_post(
        self, posts_service: PostService, post_id: int, data: PostUpdate
    ) -> PostRead:
        obj = await posts_service.update(data, item_id=post_id)
        return posts_service.to_schema(obj, schema_type=PostRead)

    @delete("/{post_id:int}")
    async def delete_post(self, posts_service: PostService, post_id: int) -> None:
        await posts_service.delete(post_id)


config = SQLAlchemyAsyncConfig(
    connection_string="sqlite+aiosqlite:///posts.sqlite3",
    before_send_handler="autocommit",
    session_config=AsyncSessionConfig(expire_on_commit=False),
    create_all=True,
)
app = Litestar(route_handlers=[PostController], plugins=[SQLAlchemyPlugin(config=config)])
