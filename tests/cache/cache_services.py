"""Types shared by the cache tests (a module of its own: every test directory has a
``conftest``, so importing from one by name is ambiguous)."""

from __future__ import annotations

from collections.abc import Callable

from plait.cache import Cache

__all__ = ["CacheFactory"]

CacheFactory = Callable[..., Cache]
