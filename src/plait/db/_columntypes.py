"""``EmailType`` and ``URLType``: string columns that say what they hold (Django's
``EmailField`` and ``URLField``).

In the database they are ``VARCHAR(n)`` (migrations write ``sa.String(length=n)``); in the
model's schemas they are strings checked for an e-mail address or an absolute URL, with
``format: email``/``uri`` in the JSON Schema; forms and the admin draw them as
``<input type="email">`` and ``<input type="url">`` with Django's messages.
"""

from __future__ import annotations

from typing import Any

import msgspec
import sqlalchemy as sa

from plait._formats import EMAIL_MAX_LENGTH, URL_MAX_LENGTH, email_meta, url_meta

__all__ = ["EmailType", "FormattedString", "URLType", "render_column_type"]


class FormattedString(sa.types.TypeDecorator[str]):
    """A ``String`` whose values have a known format (the base of the two types below)."""

    impl = sa.String
    cache_ok = True
    default_length = 255

    def __init__(self, length: int | None = None, **kwargs: Any) -> None:
        self.length = length or self.default_length
        super().__init__(self.length, **kwargs)

    def schema_meta(self) -> msgspec.Meta:
        """The constraints the model's schemas put on the column's values."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.length})"


class EmailType(FormattedString):
    """An e-mail address column, at most 254 characters unless told::

    email: Mapped[str] = mapped_column(EmailType, unique=True)
    """

    cache_ok = True  # SQLAlchemy reads it from each class's own namespace
    default_length = EMAIL_MAX_LENGTH

    def schema_meta(self) -> msgspec.Meta:
        return email_meta(self.length)


class URLType(FormattedString):
    """An absolute URL column (http, https, ftp, ftps), at most 200 characters unless told::

    url: Mapped[str] = mapped_column(URLType(2000))
    """

    cache_ok = True
    default_length = URL_MAX_LENGTH

    def schema_meta(self) -> msgspec.Meta:
        return url_meta(self.length)


def render_column_type(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Alembic's ``render_item`` hook: a formatted string column is a plain ``sa.String``
    in migration files, so they never import plait's modules."""
    if type_ == "type" and isinstance(obj, FormattedString):
        return f"sa.String(length={obj.length})"
    return False
