"""Type aliases shared by the data layer's modules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

__all__ = ["AnySelect"]

if TYPE_CHECKING:
    import sqlalchemy as sa

    AnySelect: TypeAlias = sa.Select[*tuple[Any, ...]]
    """A ``select()`` of any columns or entities."""
else:
    AnySelect = Any
