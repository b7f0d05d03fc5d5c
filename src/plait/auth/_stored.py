"""Stored credentials at work: opaque tokens, refresh-token rotation, API keys."""

from __future__ import annotations

import datetime
import hmac
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from plait.auth._credentials import Credentials
from plait.auth._jwt import TokenError
from plait.auth._models import User
from plait.auth._tokenmodels import APIKey, RefreshToken, Token, digest, new_secret, now
from plait.db import Database

__all__ = [
    "LAST_USED_EVERY",
    "RefreshReused",
    "TokenPair",
    "check_api_key",
    "check_opaque",
    "create_api_key",
    "create_token",
    "issue_refresh",
    "join_scopes",
    "revoke_family",
    "rotate_refresh",
    "split_scopes",
]

StoredT = TypeVar("StoredT", Token, APIKey)

LAST_USED_EVERY = datetime.timedelta(minutes=1)
"""``last_used_at`` is written at most this often per token (not one write per request)."""


class RefreshReused(TokenError):
    """A refresh token used a second time: stolen, or replayed. Its family is revoked."""


class TokenPair(msgspec.Struct, omit_defaults=True):
    """An OAuth2 token response (RFC 6749 5.1): return it from a handler as it is."""

    access_token: str
    token_type: str
    """``bearer`` (RFC 6750), or the app's own scheme (``token``) in lower case."""
    expires_in: int
    refresh_token: str | None = None
    scope: str | None = None


def join_scopes(scopes: Iterable[str] | None) -> str:
    return " ".join(sorted(set(scopes))) if scopes is not None else ""


def split_scopes(scopes: str | None) -> list[str]:
    return scopes.split() if scopes else []


def _expiry(lifetime: datetime.timedelta | None) -> datetime.datetime | None:
    return now() + lifetime if lifetime is not None else None


async def _add(
    session: AsyncSession,
    model: type[StoredT],
    user: User,
    secret: str,
    name: str,
    scopes: Iterable[str] | None,
    lifetime: datetime.timedelta | None,
    **columns: Any,
) -> StoredT:
    """Store a new token or API key of ``user``: the digest of ``secret``, never itself."""
    row = model(
        user_id=user.id,
        name=name,
        digest=digest(secret),
        scopes=join_scopes(scopes),
        expires_at=_expiry(lifetime),
        **columns,
    )
    session.add(row)
    await session.flush()
    return row


async def _active_user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        raise TokenError("The token's user is inactive or gone")
    return user


# ---------------------------------------------------------------------- opaque tokens


async def create_token(
    session: AsyncSession,
    user: User,
    *,
    name: str,
    scopes: Iterable[str] | None,
    lifetime: datetime.timedelta | None,
) -> tuple[str, Token]:
    secret = new_secret()
    return secret, await _add(session, Token, user, secret, name, scopes, lifetime)


async def _touch(db: Database, reading: AsyncSession, row: Token | APIKey) -> None:
    """Record the use, at most once per :data:`LAST_USED_EVERY`, in a transaction of its own
    (the request's session, ``reading``, stays free of writes and their locks while the
    handler runs); ``reading``'s transaction ends first (SQLite's read lock would block it)."""
    moment = now()
    if row.last_used_at is None or moment - row.last_used_at >= LAST_USED_EVERY:
        await reading.commit()
        async with db.transaction() as session:
            await session.execute(
                sa.update(type(row)).where(type(row).id == row.id).values(last_used_at=moment)
            )


async def check_opaque(
    db: Database, secret: str, session: AsyncSession
) -> tuple[User, Credentials]:
    """The user and credentials of the opaque token ``secret``, read in ``session``."""
    row = await session.scalar(sa.select(Token).where(Token.digest == digest(secret)))
    if row is None:
        raise TokenError("The token is invalid or revoked")
    if row.expires_at is not None and row.expires_at <= now():
        raise TokenError("The token has expired")
    user = await _active_user(session, row.user_id)
    await _touch(db, session, row)
    scopes = split_scopes(row.scopes) or None
    return user, Credentials("token", scopes=scopes, token_id=row.id)


# ---------------------------------------------------------------------- refresh tokens


async def issue_refresh(
    session: AsyncSession,
    user: User,
    *,
    family: str | None,
    scopes: Iterable[str] | None,
    lifetime: datetime.timedelta,
    user_hash: str,
) -> str:
    secret = new_secret()
    session.add(
        RefreshToken(
            user_id=user.id,
            family=family or new_secret()[:32],
            digest=digest(secret),
            scopes=join_scopes(scopes) if scopes is not None else None,
            user_hash=user_hash,
            expires_at=now() + lifetime,
        )
    )
    await session.flush()
    return secret


async def rotate_refresh(
    db: Database, secret: str, user_hash_of: Callable[[User], str]
) -> tuple[User, RefreshToken]:
    """Spend the refresh token ``secret``: its user and row (marked used). A second use of a
    spent token revokes its family, in a transaction of its own (committed though the
    request fails), and raises :class:`RefreshReused`."""
    reused: str | None = None
    async with db.transaction() as session:
        row = await session.scalar(
            sa.select(RefreshToken).where(RefreshToken.digest == digest(secret))
        )
        if row is None:
            raise TokenError("The refresh token is invalid")
        if row.revoked:
            raise TokenError("The refresh token was revoked")
        if row.expires_at <= now():
            raise TokenError("The refresh token has expired")
        # Spent only if nobody spent it first: two requests racing with one token are a
        # reuse too, whichever wins.
        spent = await session.execute(
            sa.update(RefreshToken)
            .where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None))
            .values(used_at=now())
        )
        if spent.rowcount != 1:  # type: ignore[attr-defined]
            reused = row.family
        else:
            user = await _active_user(session, row.user_id)
            if not hmac.compare_digest(row.user_hash, user_hash_of(user)):
                raise TokenError("The refresh token was revoked (password change or logout)")
            return user, row
    await revoke_family(db, reused)
    raise RefreshReused("The refresh token was already used: every token of its login is revoked")


async def revoke_family(db: Database, family: str) -> None:
    async with db.transaction() as session:
        await session.execute(
            sa.update(RefreshToken).where(RefreshToken.family == family).values(revoked=True)
        )


# ---------------------------------------------------------------------- API keys


async def create_api_key(
    session: AsyncSession,
    user: User,
    *,
    name: str,
    scopes: Iterable[str],
    lifetime: datetime.timedelta | None,
) -> tuple[str, APIKey]:
    prefix = new_secret()[:8].replace("-", "x").replace("_", "y")
    secret = new_secret()
    row = await _add(session, APIKey, user, secret, name, scopes, lifetime, prefix=prefix)
    return f"{prefix}.{secret}", row


async def check_api_key(db: Database, key: str, session: AsyncSession) -> tuple[User, Credentials]:
    """The user and credentials of the API key ``key``, read in ``session``."""
    prefix, dot, secret = key.partition(".")
    if not dot or not prefix or not secret:
        raise TokenError("The API key is malformed")
    row = await session.scalar(sa.select(APIKey).where(APIKey.prefix == prefix))
    # The digests compare in constant time: the prefix is no secret, the rest is.
    if row is None or not hmac.compare_digest(row.digest, digest(secret)):
        raise TokenError("The API key is invalid or revoked")
    if row.expires_at is not None and row.expires_at <= now():
        raise TokenError("The API key has expired")
    user = await _active_user(session, row.user_id)
    await _touch(db, session, row)
    return user, Credentials("api_key", scopes=split_scopes(row.scopes), token_id=row.id)
