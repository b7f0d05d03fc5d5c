"""Password hashing with Argon2id (argon2-cffi's ``PasswordHasher``)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["hash_password", "hasher", "needs_rehash", "verify_password"]

hasher = PasswordHasher()
"""The hasher, with argon2-cffi's current recommended parameters (RFC 9106's second choice:
Argon2id, 64 MiB, 3 passes, 4 lanes)."""


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password`` (salted: two hashes of one password differ)::

    user.password = hash_password("correct horse battery staple")
    """
    return hasher.hash(password)


def verify_password(hashed: str, password: str) -> bool:
    """Whether ``password`` matches ``hashed`` (a malformed or empty hash never matches)."""
    try:
        return hasher.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(hashed: str) -> bool:
    """Whether ``hashed`` was made with weaker parameters than :data:`hasher`'s current ones."""
    try:
        return hasher.check_needs_rehash(hashed)
    except InvalidHashError:
        return True


_dummies: dict[object, str] = {}


def dummy_hash() -> str:
    """A hash to verify against when there is no user, so that "no such user" takes as long
    as "wrong password" (no user enumeration by timing): made with :data:`hasher`'s current
    parameters, whatever they are now."""
    parameters = (hasher.type, hasher.time_cost, hasher.memory_cost, hasher.parallelism)
    found = _dummies.get(parameters)
    if found is None:
        found = _dummies[parameters] = hash_password("plait: no such user")
    return found
