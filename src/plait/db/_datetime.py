"""``UTCDateTime``: the column type of ``Mapped[datetime]``, aware UTC in and out.

The instant is what is stored, never the server's local time: PostgreSQL gets a
``timestamp with time zone`` (and plait's connections use the UTC session time zone), SQLite
a UTC text timestamp. Reads give timezone-aware UTC datetimes on both databases, so a value
shows its ``Z`` wherever it goes — the derived schemas, your own Structs, templates.
"""

from __future__ import annotations

import datetime
from typing import Any

import sqlalchemy as sa

__all__ = ["UTCDateTime", "storage_type"]

_UTC = datetime.UTC


class UTCDateTime(sa.types.TypeDecorator[datetime.datetime]):
    """A date-time stored as UTC and read back timezone-aware (``tzinfo=UTC``).

    ``Mapped[datetime.datetime]`` on a plait :class:`~plait.db.Model` gets this type. A naive
    value written to it is taken as UTC; an aware one is converted. Migrations show it as
    ``sa.DateTime(timezone=True)``.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[datetime.datetime]:
        return datetime.datetime

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        if not isinstance(value, datetime.datetime):
            return value
        value = value.replace(tzinfo=_UTC) if value.tzinfo is None else value.astimezone(_UTC)
        if dialect.name == "sqlite":
            # Stored as text: the same form as CURRENT_TIMESTAMP, so values compare in order.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Any:
        if not isinstance(value, datetime.datetime):
            return value
        return value.replace(tzinfo=_UTC) if value.tzinfo is None else value.astimezone(_UTC)


def storage_type(type_: sa.types.TypeEngine[Any]) -> sa.types.TypeEngine[Any]:
    """The type a column really stores (``DateTime`` for a ``UTCDateTime``)."""
    if isinstance(type_, sa.types.TypeDecorator):
        impl: sa.types.TypeEngine[Any] = type_.impl_instance
        return impl
    return type_
