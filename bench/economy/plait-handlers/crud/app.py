from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

from plait import App
from plait.db import (
    Database,
    Model,
    Page,
    PageNumber,
    PageSize,
    Session,
    apply,
    get_or_404,
    paginate,
)


class Post(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str]
    published: Mapped[bool] = mapped_column(default=False)


app = App()
db = Database(app, auto_migrate=True)


@app.get("/posts")
async def list_posts(
    session: Session, page: PageNumber = 1, size: PageSize = 20
) -> Page[Post.Read]:
    return await paginate(session, select(Post).order_by(Post.id), page=page, size=size)


@app.post("/posts", status_code=201)
async def create_post(data: Post.Create, session: Session) -> Post.Read:
    post = Post(data)
    session.add(post)
    return post


@app.get("/posts/{post_id}")
async def get_post(post_id: int, session: Session) -> Post.Read:
    return await get_or_404(session, Post, post_id)


@app.patch("/posts/{post_id}")
async def update_post(post_id: int, data: Post.Update, session: Session) -> Post.Read:
    post = await get_or_404(session, Post, post_id)
    apply(post, data)
    return post


@app.delete("/posts/{post_id}", status_code=204)
async def delete_post(post_id: int, session: Session) -> None:
    await session.delete(await get_or_404(session, Post, post_id))
