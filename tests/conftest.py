"""Shared fixtures. Tests build their small apps inline; only cross-cutting helpers live here."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from plait._convertors import CONVERTORS


@pytest.fixture
def restore_convertors() -> Iterator[None]:
    """Undo ``register_convertor`` calls: the registry is global to the process."""
    saved = dict(CONVERTORS)
    yield
    CONVERTORS.clear()
    CONVERTORS.update(saved)
