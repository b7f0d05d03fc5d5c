"""Fixtures of the admin's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Argon2 with the lightest parameters: the admin's tests log in a lot, and the real
    parameters cost about half a second per hash on a loaded machine."""
    try:
        import argon2

        from plait.auth import _passwords
    except ImportError:
        yield
        return
    weak = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(_passwords, "hasher", weak)
    yield
