"""The stored credentials: opaque ``Token``s, ``RefreshToken`` families and ``APIKey``s.

Only a SHA-256 digest of each secret is stored (the secrets are 256 random bits: a slow hash
adds nothing), so a copy of the database logs nobody in.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from plait.db import Model, SchemaOptions

__all__ = ["APIKey", "RefreshToken", "Token", "digest", "new_secret", "now"]


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def new_secret() -> str:
    """256 random bits, URL-safe (no ``.``: it never looks like a JWT)."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """What is stored of a secret: its SHA-256, in hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


class _Credential:
    """The columns a token and an API key share: an id, whose it is and its name first, then
    when it was made, expires (``None``: never) and was last used."""

    id: Mapped[int] = mapped_column(primary_key=True, sort_order=-1)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("auth_user.id", ondelete="CASCADE"), index=True, sort_order=-1
    )
    name: Mapped[str] = mapped_column(String(100), default="", sort_order=-1)
    created_at: Mapped[datetime.datetime] = mapped_column(default=now)
    expires_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime.datetime | None] = mapped_column(default=None)


class Token(_Credential, Model):
    """An opaque access token (``auth_token``): random, stored hashed, revocable, with an
    optional expiry and the time it was last used. Made by :meth:`Tokens.create_token`."""

    __tablename__ = "auth_token"
    __schema_options__ = SchemaOptions(exclude=("digest",))

    digest: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(1000), default="")
    """Space-separated; empty: all its user may do."""

    def __repr__(self) -> str:
        return f"<Token {self.id} {self.name!r} of user {self.user_id}>"


class RefreshToken(Model):
    """One refresh token of a family (``auth_refresh_token``): each use rotates it (marks it
    used, issues the next of the family); a second use of one revokes the whole family."""

    __tablename__ = "auth_refresh_token"
    __schema_options__ = SchemaOptions(exclude=("digest", "user_hash"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("auth_user.id", ondelete="CASCADE"), index=True)
    family: Mapped[str] = mapped_column(String(32), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str | None] = mapped_column(String(1000), default=None)
    user_hash: Mapped[str] = mapped_column(String(32), default="")
    """The user's password/session digest at issue: a password change or logout ends it."""
    created_at: Mapped[datetime.datetime] = mapped_column(default=now)
    expires_at: Mapped[datetime.datetime] = mapped_column()
    used_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    revoked: Mapped[bool] = mapped_column(default=False)

    def __repr__(self) -> str:
        return f"<RefreshToken {self.id} family {self.family} of user {self.user_id}>"


class APIKey(_Credential, Model):
    """An API key for a machine client (``auth_api_key``): ``<prefix>.<secret>``, the prefix
    kept in clear (to find and show the key), the secret as a digest, with scopes."""

    __tablename__ = "auth_api_key"
    __schema_options__ = SchemaOptions(exclude=("digest",))

    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    digest: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(String(1000), default="")
    """Space-separated; an API key may do only what its scopes say."""

    def __repr__(self) -> str:
        return f"<APIKey {self.prefix} {self.name!r} of user {self.user_id}>"
