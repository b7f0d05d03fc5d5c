"""``User``, ``Group`` and ``Permission``: the auth tables, on ``plait.db.Model``."""

from __future__ import annotations

import datetime

from sqlalchemy import Column, DateTime, ForeignKey, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from plait.auth._passwords import hash_password, verify_password
from plait.db import Model, SchemaOptions

__all__ = [
    "Group",
    "Permission",
    "User",
    "group_permission_table",
    "user_group_table",
    "user_permission_table",
]


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _link(name: str, left: str, right: str) -> Table:
    return Table(
        name,
        Model.metadata,
        Column(f"{left}_id", ForeignKey(f"auth_{left}.id", ondelete="CASCADE"), primary_key=True),
        Column(f"{right}_id", ForeignKey(f"auth_{right}.id", ondelete="CASCADE"), primary_key=True),
    )


user_group_table = _link("auth_user_groups", "user", "group")
group_permission_table = _link("auth_group_permissions", "group", "permission")
user_permission_table = _link("auth_user_permissions", "user", "permission")


class Permission(Model):
    """A permission, named ``"<app_label>.<codename>"`` in :func:`has_perm`::

    Permission(app_label="blog", codename="publish", name="Can publish articles")
    """

    __tablename__ = "auth_permission"
    __table_args__ = (UniqueConstraint("app_label", "codename"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    app_label: Mapped[str] = mapped_column(String(100), default="")
    codename: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(255), default="")

    def __repr__(self) -> str:
        return f"<Permission {self.app_label}.{self.codename}>"

    def __str__(self) -> str:
        return f"{self.app_label} | {self.name or self.codename}"


class Group(Model):
    """A named set of permissions; its users have them all."""

    __tablename__ = "auth_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(150), unique=True)
    permissions: Mapped[list[Permission]] = relationship(
        secondary=group_permission_table, lazy="raise"
    )

    def __repr__(self) -> str:
        return f"<Group {self.name!r}>"

    def __str__(self) -> str:
        return self.name


class User(Model):
    """A user account (table ``auth_user``), as in Django::

        user = User(username="ada", email="ada@example.com")
        user.set_password("correct horse battery staple")
        session.add(user)

    ``password`` holds an Argon2 hash (empty: the user cannot log in with a password) and is
    in no schema: ``User.Read`` never shows it and ``User.Create`` cannot set it, so a hash
    (or a plain password) never crosses the API by accident. ``is_staff``, ``is_superuser``,
    ``date_joined`` and ``last_login`` are read-only in the schemas. ``groups`` and
    ``user_permissions`` are loaded on request only (``selectinload``, or
    ``await session.refresh(user, ["groups"])``); :func:`has_perm` queries them for you.
    """

    __tablename__ = "auth_user"
    __schema_options__ = SchemaOptions(
        exclude=("password", "session_generation"),
        read_only=("is_staff", "is_superuser", "last_login"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    email: Mapped[str] = mapped_column(String(254), default="")
    password: Mapped[str] = mapped_column(String(255), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    is_staff: Mapped[bool] = mapped_column(default=False)
    is_superuser: Mapped[bool] = mapped_column(default=False)
    date_joined: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    last_login: Mapped[datetime.datetime | None] = mapped_column(
        DateTime(timezone=True), default=None
    )
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    """Bumped by :func:`plait.auth.logout`: every session logged in before then ends, copies
    of the session cookie included (the signed cookie store cannot forget a cookie)."""
    groups: Mapped[list[Group]] = relationship(secondary=user_group_table, lazy="raise")
    user_permissions: Mapped[list[Permission]] = relationship(
        secondary=user_permission_table, lazy="raise"
    )

    def set_password(self, password: str) -> None:
        """Store an Argon2 hash of ``password`` (other sessions of the user end with it)."""
        self.password = hash_password(password)

    def check_password(self, password: str) -> bool:
        """Whether ``password`` is the user's (blocking: prefer :func:`authenticate`)."""
        return verify_password(self.password, password)

    def __repr__(self) -> str:
        return f"<User {self.username!r}>"

    def __str__(self) -> str:
        return self.username
