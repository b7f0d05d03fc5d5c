"""CSRF secrets and masked tokens (Django's scheme: a BREACH mitigation).

The cookie holds a 32-character secret. Every token put in a page is a fresh random mask
followed by the secret "added" to it character by character, so no two renders carry the
same bytes and a compression side channel (BREACH) has nothing stable to find. A submitted
token is unmasked and compared with the cookie's secret in constant time; the bare secret
is accepted too (a script that read the cookie may send it as the header).
"""

from __future__ import annotations

import hmac
import secrets
import string

__all__ = [
    "SECRET_LENGTH",
    "TOKEN_LENGTH",
    "is_valid_secret",
    "mask",
    "matches",
    "new_secret",
]

CHARS = string.ascii_letters + string.digits
SECRET_LENGTH = 32
TOKEN_LENGTH = 2 * SECRET_LENGTH
_INDEX = {char: index for index, char in enumerate(CHARS)}
_BASE = len(CHARS)


def new_secret() -> str:
    """A random secret for the CSRF cookie."""
    return "".join(secrets.choice(CHARS) for _ in range(SECRET_LENGTH))


def is_valid_secret(value: str | None) -> bool:
    """Whether a cookie value is a secret this module made (else a new one is issued)."""
    return value is not None and len(value) == SECRET_LENGTH and all(c in _INDEX for c in value)


def mask(secret: str) -> str:
    """A new token for ``secret``: a random mask, then the secret shifted by it."""
    salt = new_secret()
    cipher = "".join(
        CHARS[(_INDEX[s] + _INDEX[m]) % _BASE] for s, m in zip(secret, salt, strict=True)
    )
    return salt + cipher


def _unmask(token: str) -> str:
    salt, cipher = token[:SECRET_LENGTH], token[SECRET_LENGTH:]
    return "".join(
        CHARS[(_INDEX[c] - _INDEX[m]) % _BASE] for c, m in zip(cipher, salt, strict=True)
    )


def matches(token: str, secret: str) -> bool:
    """Whether the submitted ``token`` (masked, or the bare secret) belongs to ``secret``."""
    if any(c not in _INDEX for c in token):
        return False
    if len(token) == TOKEN_LENGTH:
        token = _unmask(token)
    elif len(token) != SECRET_LENGTH:
        return False
    return hmac.compare_digest(token.encode("ascii"), secret.encode("ascii"))
