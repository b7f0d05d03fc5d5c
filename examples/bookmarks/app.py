"""Bookmarks: accounts and sign-up, bookmarks with many-to-many tags, HTML pages with forms,
CSRF, flash messages and error pages, a JSON API, and the admin.

    plait run examples/bookmarks/app.py:app

The first run creates ``bookmarks.sqlite3`` in the current directory (set
``PLAIT_DATABASE_URL=postgresql://…`` for PostgreSQL) and a random signing key for the run
(set ``PLAIT_SECRET_KEY`` to keep sessions across restarts). Sign up at /accounts/signup;
after the first run, ``plait createsuperuser --app examples/bookmarks/app.py:app`` makes an
administrator for /admin/. The JSON API is under /api (the session cookie, and for writes an
``X-CSRF-Token`` header holding the ``csrftoken`` cookie's value), documented at /docs.
"""

import datetime
import secrets
from pathlib import Path
from typing import Any

from sqlalchemy import Column, ForeignKey, String, Table, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from plait import App, HTTPException, RedirectResponse, Request, Settings, forms
from plait.admin import Admin
from plait.auth import Auth, LoginRequired, User
from plait.csrf import CSRF
from plait.db import (
    Database,
    Model,
    Page,
    PageNumber,
    PageSize,
    Relation,
    SchemaOptions,
    Session,
    URLType,
    apply,
    get_or_404,
    load_options,
    paginate,
)
from plait.sessions import Sessions, flash
from plait.templates import Templates


class BookmarkSettings(Settings):
    DATABASE_URL: str = "sqlite+aiosqlite:///./bookmarks.sqlite3"
    secret_key_required = False  # without PLAIT_SECRET_KEY: a random key for this run


settings = BookmarkSettings.load()
secret_key = settings.SECRET_KEY or secrets.token_urlsafe(32)

bookmark_tag = Table(
    "bookmark_tag",
    Model.metadata,
    Column("bookmark_id", ForeignKey("bookmark.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True),
    extend_existing=True,  # the example may be imported twice (tests)
)


class Tag(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)

    def __str__(self) -> str:
        return self.name


class Bookmark(Model):
    __schema_options__ = SchemaOptions(
        read_only=("owner_id",),
        relations={"tags": Relation(key="name", create_missing=True)},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(URLType(2000))
    title: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime.datetime] = mapped_column(server_default=func.now())
    owner_id: Mapped[int] = mapped_column(ForeignKey("auth_user.id", ondelete="CASCADE"))
    tags: Mapped[list[Tag]] = relationship(secondary=bookmark_tag, order_by=Tag.name)

    def __str__(self) -> str:
        return self.title


app = App(title="Bookmarks", description="Bookmarks with tags: the plait example.")
db = Database(app, settings=settings, auto_migrate=True)
Sessions(app, secret_key=secret_key)
CSRF(app)
Auth(app, db, secret_key=secret_key, login_url="/accounts/login").add_pages(
    prefix="/accounts", layout="base.html"
)
templates = Templates(app, Path(__file__).resolve().parent / "templates")
admin = Admin(app, db)
admin.register(Bookmark, list_display=("title", "url", "owner_id", "created_at"))
admin.register(Tag, search_fields=("name",))


class BookmarkForm(
    forms.Form,
    schema=Bookmark.Create,
    widgets={"tags": forms.Widget("text", placeholder="python, web")},  # comma-separated
):
    notes: forms.TextArea | None = None


async def own_bookmark(session: Session, bookmark_id: int, user: User) -> Bookmark:
    bookmark = await get_or_404(session, Bookmark, bookmark_id, options=load_options(Bookmark))
    if bookmark.owner_id != user.id:
        raise HTTPException(404)  # someone else's: as if it did not exist
    return bookmark


def mine(user: User, tag: str | None = None) -> Any:
    query = select(Bookmark).where(Bookmark.owner_id == user.id).options(*load_options(Bookmark))
    if tag:
        query = query.where(Bookmark.tags.any(Tag.name == tag))
    return query.order_by(Bookmark.created_at.desc(), Bookmark.id.desc())


# ---------------------------------------------------------------- HTML pages


@app.get("/")
@templates.page("index.html")
async def index(user: LoginRequired, session: Session, tag: str | None = None) -> dict[str, Any]:
    bookmarks = (await session.scalars(mine(user, tag))).all()
    return {"bookmarks": bookmarks, "tag": tag}


@app.route("/bookmarks/new", methods=["GET", "POST"])
@templates.page("bookmark_form.html")
async def new_bookmark(
    request: Request, user: LoginRequired, session: Session, form: BookmarkForm
) -> Any:
    if not form.is_valid():
        return {"form": form, "title": "New bookmark"}
    session.add(Bookmark(form.cleaned_data, owner_id=user.id))
    flash(request, "Bookmark saved.", "success")
    return RedirectResponse(app.url_path_for("index"), status_code=303)


@app.route("/bookmarks/{bookmark_id:int}/edit", methods=["GET", "POST"])
@templates.page("bookmark_form.html")
async def edit_bookmark(
    request: Request, bookmark_id: int, user: LoginRequired, session: Session, form: BookmarkForm
) -> Any:
    bookmark = await own_bookmark(session, bookmark_id, user)
    if not form.bound:
        form = BookmarkForm(initial=bookmark, request=request)
    if not form.is_valid():
        return {"form": form, "title": f"Edit “{bookmark.title}”"}
    apply(bookmark, form.cleaned_data)
    flash(request, "Bookmark updated.", "success")
    return RedirectResponse(app.url_path_for("index"), status_code=303)


@app.post("/bookmarks/{bookmark_id:int}/delete", include_in_schema=False)  # a page's form
async def delete_bookmark(
    request: Request, bookmark_id: int, user: LoginRequired, session: Session
) -> RedirectResponse:
    await session.delete(await own_bookmark(session, bookmark_id, user))
    flash(request, "Bookmark deleted.", "info")
    return RedirectResponse(app.url_path_for("index"), status_code=303)


# ---------------------------------------------------------------- JSON API


@app.get("/api/bookmarks", tags=["bookmarks"])
async def api_list(
    user: LoginRequired,
    session: Session,
    tag: str | None = None,
    page: PageNumber = 1,
    size: PageSize = 20,
) -> Page[Bookmark.Read]:
    return await paginate(session, mine(user, tag), page=page, size=size)


@app.post("/api/bookmarks", status_code=201, tags=["bookmarks"])
async def api_create(data: Bookmark.Create, user: LoginRequired, session: Session) -> Bookmark.Read:
    bookmark = Bookmark(data, owner_id=user.id)
    session.add(bookmark)
    return bookmark


@app.get("/api/bookmarks/{bookmark_id:int}", tags=["bookmarks"])
async def api_get(bookmark_id: int, user: LoginRequired, session: Session) -> Bookmark.Read:
    return await own_bookmark(session, bookmark_id, user)


@app.patch("/api/bookmarks/{bookmark_id:int}", tags=["bookmarks"])
async def api_update(
    bookmark_id: int, data: Bookmark.Update, user: LoginRequired, session: Session
) -> Bookmark.Read:
    return apply(await own_bookmark(session, bookmark_id, user), data)


@app.delete("/api/bookmarks/{bookmark_id:int}", status_code=204, tags=["bookmarks"])
async def api_delete(bookmark_id: int, user: LoginRequired, session: Session) -> None:
    await session.delete(await own_bookmark(session, bookmark_id, user))
