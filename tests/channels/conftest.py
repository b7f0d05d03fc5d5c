"""Fixtures for the channels tests: Redis is the real server at 127.0.0.1:6379.

Every test gets a key prefix of its own, so runs on a shared server never hear each other.
"""

from __future__ import annotations

import uuid

import pytest
from channels_helpers import require_redis


@pytest.fixture
def redis_prefix() -> str:
    """A channel prefix of this test's own (pub/sub keeps no keys, so nothing to clean)."""
    require_redis()
    return f"plait-test:{uuid.uuid4().hex[:10]}:"
