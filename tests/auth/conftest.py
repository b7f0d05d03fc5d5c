"""Fixtures of the auth tests."""

from __future__ import annotations

from collections.abc import Iterator

import argon2
import pytest

import plait.auth._passwords as passwords


@pytest.fixture
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[argon2.PasswordHasher]:
    """Argon2 at its lowest cost for this test: the real cost (tens to hundreds of ms a hash on
    a loaded machine) is what a test of tokens or policies does not need to pay."""
    fast = argon2.PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    monkeypatch.setattr(passwords, "hasher", fast)
    return fast
