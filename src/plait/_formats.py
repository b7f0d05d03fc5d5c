"""E-mail addresses and URLs: the patterns, lengths and JSON Schema formats of both.

Shared by ``plait.forms`` (``forms.Email``, ``forms.URL``) and ``plait.db``'s column types
(``EmailType``, ``URLType``), so a form, an API schema and the admin accept the same values.
The patterns are valid in Python and in ECMA-262 (JSON Schema's dialect), and refuse NUL.
"""

from __future__ import annotations

import msgspec

__all__ = [
    "EMAIL_MAX_LENGTH",
    "EMAIL_PATTERN",
    "URL_MAX_LENGTH",
    "URL_PATTERN",
    "email_meta",
    "url_meta",
]

EMAIL_MAX_LENGTH = 254
"""Django's ``EmailField`` default (RFC 5321's limit on a forward path)."""
URL_MAX_LENGTH = 200
"""Django's ``URLField`` default."""

EMAIL_PATTERN = r"^[^@\s\x00]+@[^@\s\x00.]+(?:\.[^@\s\x00.]+)+$"
"""``name@domain.tld``: one ``@``, no spaces, a dot in the domain."""

_LABEL = r"[A-Za-z0-9\u00a1-\uffff](?:[A-Za-z0-9\u00a1-\uffff-]{0,61}[A-Za-z0-9\u00a1-\uffff])?"
_TLD = r"(?:[A-Za-z\u00a1-\uffff]{2,63}|[Xx][Nn]--[A-Za-z0-9]{1,59})"
_HOST = rf"(?:localhost|\d{{1,3}}(?:\.\d{{1,3}}){{3}}|\[[0-9A-Fa-f:.]+\]|(?:{_LABEL}\.)+{_TLD}\.?)"
URL_PATTERN = (
    r"^(?:[Hh][Tt][Tt][Pp][Ss]?|[Ff][Tt][Pp][Ss]?)://"
    r"(?:[^\s:@/\x00]+(?::[^\s@/\x00]*)?@)?"
    rf"{_HOST}(?::\d{{1,5}})?(?:[/?#][^\s\x00]*)?$"
)
"""Django's ``URLValidator``: http, https, ftp or ftps; a domain with a top-level domain,
``localhost``, or an IP address; an optional port, path, query and fragment."""


def email_meta(max_length: int = EMAIL_MAX_LENGTH) -> msgspec.Meta:
    """The constraints of an e-mail address of at most ``max_length`` characters."""
    return msgspec.Meta(
        pattern=EMAIL_PATTERN, max_length=max_length, extra_json_schema={"format": "email"}
    )


def url_meta(max_length: int = URL_MAX_LENGTH) -> msgspec.Meta:
    """The constraints of an absolute http(s)/ftp(s) URL of at most ``max_length``."""
    return msgspec.Meta(
        pattern=URL_PATTERN, max_length=max_length, extra_json_schema={"format": "uri"}
    )
