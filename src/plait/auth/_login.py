"""Checking passwords, logging in and out, and permissions."""

from __future__ import annotations

import asyncio
import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from plait import HTTPConnection
from plait.auth._auth import HASH_SESSION_KEY, SESSION_KEY, auth_of
from plait.auth._models import (
    Permission,
    User,
    group_permission_table,
    user_group_table,
    user_permission_table,
)
from plait.auth._passwords import dummy_hash, hash_password, needs_rehash, verify_password
from plait.sessions import SessionData

__all__ = ["authenticate", "has_perm", "login", "logout", "safe_next"]


async def authenticate(session: AsyncSession, username: str, password: str) -> User | None:
    """The active user with this username and password, or ``None``::

        user = await authenticate(session, form.username, form.password)
        if user is None:
            raise HTTPException(400, "Wrong username or password")
        await login(request, user)

    Hashing runs in a thread (it takes tens of milliseconds on purpose), and an unknown
    username costs a hash too, so response times do not tell which usernames exist. A hash
    made with outdated parameters is replaced (committed with ``session``).
    """
    user = await session.scalar(sa.select(User).where(User.username == username))
    hashed = user.password if user is not None and user.password else dummy_hash()
    matches = await asyncio.to_thread(verify_password, hashed, password)
    if user is None or not user.password or not matches or not user.is_active:
        return None
    if needs_rehash(user.password):
        user.password = await asyncio.to_thread(hash_password, password)
    return user


def _session_of(connection: HTTPConnection) -> SessionData:
    session = connection.session
    if not isinstance(session, SessionData):
        raise RuntimeError("plait.auth needs plait.sessions' session: add Sessions(app)")
    return session


async def login(request: HTTPConnection, user: User) -> None:
    """Log ``user`` in for this session: a new session id (no session fixation), the user's
    id and password hash's HMAC kept in it, a new CSRF token when plait.csrf is installed
    (no login CSRF, as Django's ``login()``), ``request.user`` set and ``last_login`` updated.

    ``last_login`` is committed with the session ``user`` belongs to (the handler's
    ``Session``); a user not attached to one is updated in a transaction of its own.
    """
    auth = auth_of(request)
    session = _session_of(request)
    if session.get(SESSION_KEY, user.id) != user.id:
        # Another user's session: nothing of it carries over (an anonymous one keeps its data).
        session.flush()
    session.cycle_key()
    session[SESSION_KEY] = user.id
    session[HASH_SESSION_KEY] = auth.session_hash(user)
    if request.scope.get("csrf_token") is not None:
        # Imported only when the CSRF middleware ran: auth does not need plait.csrf otherwise.
        from plait.csrf import rotate_token

        rotate_token(request)
    now = datetime.datetime.now(datetime.UTC)
    user.last_login = now
    if sa.inspect(user).session is None:
        async with auth.db.transaction() as db_session:
            await db_session.execute(
                sa.update(User).where(User.id == user.id).values(last_login=now)
            )
    request.scope["user"] = user


async def logout(request: HTTPConnection) -> None:
    """End the session: its data and id are dropped and ``request.user`` is ``None``.

    The user's session generation is bumped too, so every session of the user ends with
    this one, even a copy of a signed session cookie (which no server can forget), as a
    server-side store would do. The update is committed with the session ``request.user``
    belongs to (the handler's ``Session``), or in a transaction of its own.
    """
    _session_of(request).flush()
    user = request.scope.pop("user", None)
    if not isinstance(user, User):
        return
    if sa.inspect(user).session is not None:
        user.session_generation = (user.session_generation or 0) + 1
        return
    async with auth_of(request).db.transaction() as db_session:
        await db_session.execute(
            sa.update(User)
            .where(User.id == user.id)
            .values(session_generation=User.session_generation + 1)
        )


async def has_perm(session: AsyncSession, user: User | None, perm: str) -> bool:
    """Whether ``user`` has the permission ``"<app_label>.<codename>"``, directly or through
    one of their groups. Superusers have every permission, inactive users none::

        if not await has_perm(session, user, "blog.publish"):
            raise HTTPException(403)
    """
    if user is None or not user.is_active:
        return False
    if user.is_superuser:
        return True
    app_label, _, codename = perm.rpartition(".")
    direct = sa.select(user_permission_table.c.permission_id).where(
        user_permission_table.c.user_id == user.id
    )
    via_groups = (
        sa.select(group_permission_table.c.permission_id)
        .join(user_group_table, user_group_table.c.group_id == group_permission_table.c.group_id)
        .where(user_group_table.c.user_id == user.id)
    )
    query = sa.select(
        sa.exists().where(
            Permission.app_label == app_label,
            Permission.codename == codename,
            sa.or_(Permission.id.in_(direct), Permission.id.in_(via_groups)),
        )
    )
    return bool(await session.scalar(query))


def safe_next(target: str | None, default: str) -> str:
    """``target`` if it is a path on this site, else ``default`` (no open redirects)::

    return RedirectResponse(safe_next(request.query_params.get("next"), "/"), 303)
    """
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(c in target for c in "\r\n\t"):
        return default
    return target
