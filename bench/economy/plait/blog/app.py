from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from plait import App, RedirectResponse, Request, forms
from plait.admin import Admin
from plait.auth import Auth, LoginRequired, User
from plait.csrf import CSRF
from plait.db import Database, Model, Session, get_or_404
from plait.sessions import Sessions, flash
from plait.templates import Templates

app = App()
db = Database(app, auto_migrate=True)
Sessions(app)
CSRF(app)
Auth(app, db).add_pages(layout="base.html")
templates = Templates(app)
admin = Admin(app, db)


class Comment(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str]
    created: Mapped[datetime] = mapped_column(server_default=func.now())
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("auth_user.id"))
    author: Mapped[User] = relationship(lazy="joined")


class Post(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str]
    created: Mapped[datetime] = mapped_column(server_default=func.now())
    author_id: Mapped[int] = mapped_column(ForeignKey("auth_user.id"))
    author: Mapped[User] = relationship(lazy="joined")
    comments: Mapped[list[Comment]] = relationship(lazy="selectin", order_by=Comment.id)

    def __str__(self) -> str:
        return self.title


admin.register(Post, list_display=("title", "author_id", "created"))
admin.register(Comment, list_display=("post_id", "author_id", "created"))


class PostForm(forms.Form, schema=Post.Create, exclude=("author_id",)):
    body: forms.TextArea


class CommentForm(forms.Form, schema=Comment.Create, exclude=("post_id", "author_id")):
    body: forms.TextArea


@app.get("/")
@templates.page("index.html")
async def index(session: Session) -> dict[str, Any]:
    posts = await session.scalars(select(Post).order_by(Post.created.desc(), Post.id.desc()))
    return {"posts": posts.unique()}


@app.get("/posts/{post_id}")
@templates.page("post.html")
async def show(post_id: int, session: Session, form: CommentForm) -> dict[str, Any]:
    return {"post": await get_or_404(session, Post, post_id), "form": form}


@app.route("/posts/new", methods=["GET", "POST"])
@templates.page("post_form.html")
async def create(request: Request, user: LoginRequired, form: PostForm, session: Session) -> Any:
    if not form.is_valid():
        return {"form": form}
    post = Post(form.cleaned_data, author=user)
    session.add(post)
    await session.flush()
    flash(request, "Your post was published.")
    return RedirectResponse(app.url_path_for("show", post_id=post.id), status_code=303)


@app.post("/posts/{post_id}/comments")
@templates.page("post.html")
async def comment(
    request: Request, post_id: int, user: LoginRequired, form: CommentForm, session: Session
) -> Any:
    post = await get_or_404(session, Post, post_id)
    if not form.is_valid():
        return {"post": post, "form": form}
    session.add(Comment(form.cleaned_data, post_id=post.id, author=user))
    flash(request, "Your comment was added.")
    return RedirectResponse(app.url_path_for("show", post_id=post.id), status_code=303)
