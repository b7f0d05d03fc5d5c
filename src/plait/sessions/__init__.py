"""plait's sessions: ``request.session`` kept between requests, in a cookie or a store.

::

    from plait import App, Request
    from plait.sessions import Sessions, flash, get_flashed_messages

    app = App()
    Sessions(app)                           # signed cookies keyed by settings' SECRET_KEY

    @app.post("/login")
    async def login(request: Request) -> dict:
        request.session["user"] = "ada"
        flash(request, "Welcome back!")
        return {"ok": True}

Stores are objects: :class:`CookieStore` (the default), :class:`MemoryStore`,
:class:`RedisStore` (``pip install 'plait[redis]'``) and :class:`DatabaseStore` (plait.db).
"""

from typing import TYPE_CHECKING, Any

from plait.sessions._data import SessionData
from plait.sessions._flash import flash, get_flashed_messages
from plait.sessions._middleware import (
    DEFAULT_MAX_AGE,
    SessionMiddleware,
    SessionOptions,
    Sessions,
)
from plait.sessions._redis import RedisStore
from plait.sessions._stores import MAX_COOKIE_SIZE, CookieStore, MemoryStore, SessionStore

if TYPE_CHECKING:
    from plait.sessions._database import DatabaseStore

__all__ = [
    "DEFAULT_MAX_AGE",
    "MAX_COOKIE_SIZE",
    "CookieStore",
    "DatabaseStore",
    "MemoryStore",
    "RedisStore",
    "SessionData",
    "SessionMiddleware",
    "SessionOptions",
    "SessionStore",
    "Sessions",
    "flash",
    "get_flashed_messages",
]


def __getattr__(name: str) -> Any:
    # DatabaseStore needs plait.db (SQLAlchemy): imported when asked for, so sessions in a
    # cookie or in Redis do not load the data layer.
    if name == "DatabaseStore":
        from plait.sessions._database import DatabaseStore

        return DatabaseStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
