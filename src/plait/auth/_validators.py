"""Password validation: Django's four validators, with Django's messages.

The common-password list is Django's (``common-passwords.txt.gz``, 20,000 passwords
lower-cased, compiled by Royce Williams), shipped in this package.
"""

from __future__ import annotations

import functools
import gzip
import re
from collections.abc import Sequence
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any, Protocol

__all__ = [
    "DEFAULT_VALIDATORS",
    "CommonPasswordValidator",
    "MinimumLengthValidator",
    "NumericPasswordValidator",
    "PasswordInvalid",
    "PasswordValidator",
    "UserAttributeSimilarityValidator",
    "password_problems",
    "validate_password",
]

_LIST = Path(__file__).resolve().parent / "common-passwords.txt.gz"
_VERBOSE_NAMES = {"email": "email address", "first_name": "first name", "last_name": "last name"}


class PasswordInvalid(ValueError):
    """A password the validators refused; ``messages`` says why (Django's words)."""

    def __init__(self, messages: Sequence[str]) -> None:
        super().__init__(" ".join(messages))
        self.messages = list(messages)


class PasswordValidator(Protocol):
    """A validator: ``problem(password, user)`` is ``None`` or what is wrong."""

    def problem(self, password: str, user: Any = None) -> str | None: ...

    def help_text(self) -> str: ...


class MinimumLengthValidator:
    """At least ``min_length`` characters (8, Django's default)."""

    def __init__(self, min_length: int = 8) -> None:
        self.min_length = min_length

    def problem(self, password: str, user: Any = None) -> str | None:
        if len(password) >= self.min_length:
            return None
        unit = "character" if self.min_length == 1 else "characters"
        return f"This password is too short. It must contain at least {self.min_length} {unit}."

    def help_text(self) -> str:
        unit = "character" if self.min_length == 1 else "characters"
        return f"Your password must contain at least {self.min_length} {unit}."


def _too_long_to_compare(password: str, max_similarity: float, value: str) -> bool:
    """Django's shortcut: a password ten times longer than the value can't be similar."""
    return len(password) >= 10 * len(value) and len(value) < max_similarity / 2 * len(password)


class UserAttributeSimilarityValidator:
    """Not too similar to the user's username, names or e-mail address (or a part of one),
    by :class:`difflib.SequenceMatcher`'s quick ratio (0.7, Django's default)."""

    def __init__(
        self,
        user_attributes: Sequence[str] = ("username", "first_name", "last_name", "email"),
        max_similarity: float = 0.7,
    ) -> None:
        if max_similarity < 0.1:
            raise ValueError("max_similarity must be at least 0.1")
        self.user_attributes = tuple(user_attributes)
        self.max_similarity = max_similarity

    def problem(self, password: str, user: Any = None) -> str | None:
        if user is None:
            return None
        password = password.lower()
        for name in self.user_attributes:
            value = getattr(user, name, None)
            if not value or not isinstance(value, str):
                continue
            value = value.lower()
            for part in [*re.split(r"\W+", value), value]:
                if _too_long_to_compare(password, self.max_similarity, part):
                    continue
                if SequenceMatcher(a=password, b=part).quick_ratio() >= self.max_similarity:
                    verbose = _VERBOSE_NAMES.get(name, name.replace("_", " "))
                    return f"The password is too similar to the {verbose}."
        return None

    def help_text(self) -> str:
        return "Your password can't be too similar to your other personal information."


@functools.cache
def _common(path: Path) -> frozenset[str]:
    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines)


class CommonPasswordValidator:
    """Not one of 20,000 common passwords (Django's list, shipped here; or a list of your
    own, one lower-case password a line, gzipped or not)."""

    def __init__(self, password_list_path: str | Path = _LIST) -> None:
        self.path = Path(password_list_path)

    def problem(self, password: str, user: Any = None) -> str | None:
        if password.lower().strip() in _common(self.path):
            return "This password is too common."
        return None

    def help_text(self) -> str:
        return "Your password can't be a commonly used password."


class NumericPasswordValidator:
    """Not made of digits only."""

    def problem(self, password: str, user: Any = None) -> str | None:
        return "This password is entirely numeric." if password.isdigit() else None

    def help_text(self) -> str:
        return "Your password can't be entirely numeric."


DEFAULT_VALIDATORS: tuple[PasswordValidator, ...] = (
    UserAttributeSimilarityValidator(),
    MinimumLengthValidator(),
    CommonPasswordValidator(),
    NumericPasswordValidator(),
)
"""Django's ``startproject`` default ``AUTH_PASSWORD_VALIDATORS``, in its order."""


def password_problems(
    password: str, user: Any = None, validators: Sequence[PasswordValidator] | None = None
) -> list[str]:
    """What is wrong with ``password`` for ``user`` (a :class:`~plait.auth.User`, or any
    object with ``username``/``email``…), one message per failing validator::

        password_problems("12345678")
        # ['This password is too common.', 'This password is entirely numeric.']
    """
    chosen = DEFAULT_VALIDATORS if validators is None else validators
    return [found for v in chosen if (found := v.problem(password, user)) is not None]


def validate_password(
    password: str, user: Any = None, validators: Sequence[PasswordValidator] | None = None
) -> None:
    """Raise :class:`PasswordInvalid` (its ``messages`` Django's) if ``password`` fails."""
    problems = password_problems(password, user, validators)
    if problems:
        raise PasswordInvalid(problems)
