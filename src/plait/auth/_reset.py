"""Password change, and password reset by e-mail with Django's single-use, expiring tokens."""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import hmac
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from plait import HTTPConnection
from plait.auth._auth import Auth, auth_of
from plait.auth._credentials import credentials_of
from plait.auth._login import login
from plait.auth._models import User
from plait.auth._passwords import hash_password, verify_password
from plait.auth._validators import PasswordInvalid

__all__ = [
    "OLD_PASSWORD_WRONG",
    "RESET_BODY",
    "PasswordResetTokens",
    "ResetTokenInvalid",
    "change_password",
    "reset_password",
    "reset_user",
    "send_password_reset",
    "uid_of",
]

_EPOCH = datetime.datetime(2001, 1, 1, tzinfo=datetime.UTC)  # Django's, for short tokens
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
RESET_BODY = (
    "You're receiving this email because you requested a password reset for your user "
    "account at {site}.\n\nPlease go to the following page and choose a new password:\n\n"
    "{link}\n\nYour username, in case you've forgotten: {username}\n\n"
    "Thanks for using our site!\n\nThe {site} team\n"
)
"""Django's ``registration/password_reset_email.html``, as text."""
OLD_PASSWORD_WRONG = "Your old password was entered incorrectly. Please enter it again."


class ResetTokenInvalid(ValueError):
    """A password-reset link that is wrong, expired, or already used."""


def _base36(number: int) -> str:
    out = ""
    while True:
        number, digit = divmod(number, 36)
        out = _DIGITS[digit] + out
        if not number:
            return out


def uid_of(user: User) -> str:
    """The user's id as it goes in a reset link (base64, as Django's ``uidb64``)."""
    return base64.urlsafe_b64encode(str(user.id).encode()).rstrip(b"=").decode()


def _user_id(uid: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(uid + "=" * (-len(uid) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else None


def _seconds(moment: datetime.datetime | None) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=datetime.UTC)
    return str(int(moment.timestamp()))


class PasswordResetTokens:
    """Django's ``PasswordResetTokenGenerator``: ``<timestamp>-<HMAC>``, the HMAC over the
    user's id, password hash, last login, e-mail address and the timestamp. Setting the new
    password (a new hash) or logging in uses it up; it expires after ``timeout``."""

    def __init__(self, secret: str, timeout: datetime.timedelta) -> None:
        self._key = hashlib.sha256(b"plait.auth.password-reset:" + secret.encode()).digest()
        self.timeout = timeout

    def _now(self) -> int:
        return int((datetime.datetime.now(datetime.UTC) - _EPOCH).total_seconds())

    def _make(self, user: User, timestamp: int) -> str:
        material = (
            f"{user.id}{user.password}{_seconds(user.last_login)}{timestamp}{user.email or ''}"
        )
        mac = hmac.new(self._key, material.encode(), hashlib.sha256).hexdigest()[::2]
        return f"{_base36(timestamp)}-{mac}"

    def make(self, user: User) -> str:
        """A token for ``user``, valid until it is used or ``timeout`` passes."""
        return self._make(user, self._now())

    def check(self, user: User, token: str) -> bool:
        """Whether ``token`` is ``user``'s, unused and not expired."""
        stamp, _, _ = token.partition("-")
        if not stamp or len(stamp) > 13 or any(c not in _DIGITS for c in stamp):
            return False
        timestamp = int(stamp, 36)
        if not hmac.compare_digest(self._make(user, timestamp), token):
            return False
        age = self._now() - timestamp
        return 0 <= age <= self.timeout.total_seconds()


def _tokens(auth: Auth) -> PasswordResetTokens:
    return PasswordResetTokens(auth.secret, auth.password_reset_timeout)


async def send_password_reset(
    auth: Auth,
    email: str,
    link: Callable[[str, str], str],
    *,
    site: str = "our site",
    subject: str = "Password reset",
) -> int:
    """E-mail a reset link to every active user with this address and a usable password;
    how many were sent (say nothing about it to the client: see the docs)."""
    from plait.mail import EmailMessage, Mail

    async with auth.db.session() as session:
        users = await session.scalars(
            sa.select(User).where(
                sa.func.lower(User.email) == email.strip().lower(),
                User.is_active.is_(True),
                User.password != "",
            )
        )
        found = list(users)
    tokens = _tokens(auth)
    messages = [
        EmailMessage(
            subject,
            RESET_BODY.format(
                site=site, link=link(uid_of(user), tokens.make(user)), username=user.username
            ),
            to=[user.email],
        )
        for user in found
    ]
    if not messages:
        return 0
    return await Mail.of(auth.app).send(*messages)


async def reset_user(auth: Auth, session: AsyncSession, uid: str, token: str) -> User | None:
    """The active user a reset link (``uid``, ``token``) is good for, or ``None``."""
    user_id = _user_id(uid)
    user = await session.get(User, user_id) if user_id is not None else None
    if user is None or not user.is_active or not _tokens(auth).check(user, token):
        return None
    return user


async def reset_password(
    auth: Auth, session: AsyncSession, uid: str, token: str, password: str
) -> User:
    """Set ``password`` for the user of a reset link (``uid``, ``token``): the user, or
    :class:`ResetTokenInvalid` (wrong, expired, used) or :class:`PasswordInvalid` (the
    validators' messages). Every session and access token of the user ends with it."""
    user = await reset_user(auth, session, uid, token)
    if user is None:
        raise ResetTokenInvalid(
            "The password reset link was invalid, possibly because it has already been used. "
            "Please request a new password reset."
        )
    auth.validate_password(password, user)
    user.password = await asyncio.to_thread(hash_password, password)
    return user


async def change_password(
    request: HTTPConnection, session: AsyncSession, user: User, old: str, new: str
) -> None:
    """Django's ``PasswordChangeForm``: check the old password, validate the new one, set it.

    Raises :class:`PasswordInvalid` (``messages``: "Your old password was entered
    incorrectly…" or the validators'). The user's other sessions and every access token
    issued before end; a session login stays logged in (Django's
    ``update_session_auth_hash``). The change is committed with ``session``.
    """
    auth = auth_of(request)
    if not await asyncio.to_thread(verify_password, user.password, old):
        raise PasswordInvalid(["Your old password was entered incorrectly. Please enter it again."])
    auth.validate_password(new, user)
    session.add(user)
    user.password = await asyncio.to_thread(hash_password, new)
    if credentials_of(request).method == "session" and request.scope.get("session") is not None:
        await login(request, user)
