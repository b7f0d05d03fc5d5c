"""The app the browser tests drive: a blog with the admin and the real batteries.

Its SQLite file is ``ADMIN_BROWSER_DB``; it is filled at start-up with three users (``ada``
a superuser; ``eve`` staff, who may only view and change posts, through her group; ``bob``
not staff; every password ``pw``), three posts and comments, so the tests can read the
rows back with ``sqlite3``.
"""

from __future__ import annotations

import datetime
import os

import argon2
import sqlalchemy as sa
from sqlalchemy import ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from plait import App
from plait.admin import Admin, ModelAdmin, TabularInline, UserAdmin, action
from plait.auth import Auth, Group, Permission, User, _passwords, hash_password
from plait.csrf import CSRF
from plait.db import Database, Model
from plait.sessions import Sessions

# The lightest Argon2 parameters: the tests log in often (the real ones take ~0.5 s a hash).
_passwords.hasher = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

app = App()
db = Database(app, f"sqlite+aiosqlite:///{os.environ['ADMIN_BROWSER_DB']}", auto_migrate=True)
Sessions(app, secret_key="browser-tests-" + "s0Q9" * 10)
Auth(app, db, secret_key="browser-tests-" + "a1Z8" * 10)
CSRF(app)
admin = Admin(app, db, title="Blog administration", login_limit=None)


class Post(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200), unique=True)
    body: Mapped[str]
    published: Mapped[bool] = mapped_column(default=False)
    created: Mapped[datetime.datetime] = mapped_column(server_default=func.now())
    author_id: Mapped[int] = mapped_column(ForeignKey("auth_user.id"))

    def __str__(self) -> str:
        return self.title


class Comment(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str]
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("auth_user.id"))


@action(description="Mark as published")
async def publish(request: object, session: object, rows: list[Post]) -> str:
    for post in rows:
        post.published = True
    return f"{len(rows)} posts published."


class CommentInline(TabularInline):
    model = Comment
    extra = 1
    autocomplete_fields = ("author_id",)


@admin.register(Post)
class PostAdmin(ModelAdmin):
    inlines = (CommentInline,)
    list_display = ("title", "author_id", "published", "created")
    search_fields = ("title", "body")
    list_filter = ("published", "author_id")
    date_hierarchy = "created"
    actions = (publish,)


admin.register(Comment, list_display=("post_id", "author_id"), autocomplete_fields=("author_id",))
admin.register(User, UserAdmin)


@app.on_startup
async def seed() -> None:
    async with db.transaction() as session:
        if await session.scalar(sa.select(func.count()).select_from(User)):
            return
        password = hash_password("pw")
        ada = User(username="ada", password=password, is_staff=True, is_superuser=True)
        await admin.create_permissions(session)
        perms = {p.codename: p for p in await session.scalars(sa.select(Permission))}
        editors = Group(name="editors", permissions=[perms["view_post"], perms["change_post"]])
        eve = User(username="eve", password=password, is_staff=True, groups=[editors])
        bob = User(username="bob", password=password)
        session.add_all([ada, eve, bob])
        await session.flush()
        first = Post(
            title="The first post",
            body="The first post.\r\nIt has two lines",
            author_id=ada.id,
            published=True,
        )
        second = Post(title="A second post", body="Short.", author_id=eve.id)
        third = Post(title="A third post", body="For the bulk test.", author_id=eve.id)
        session.add_all([first, second, third])
        await session.flush()
        session.add_all(
            [
                Comment(body="Nice!", post_id=first.id, author_id=bob.id),
                Comment(body="Agreed.", post_id=first.id, author_id=eve.id),
            ]
        )
