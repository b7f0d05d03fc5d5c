"""docs/ratelimit.md runs, and plait.ratelimit's public surface is frozen."""

from __future__ import annotations

from _docs import battery_tests

RATELIMIT_API = {
    "Decision",
    "KeyFunc",
    "RateLimit",
    "RateLimitMiddleware",
    "RateLimitOptions",
    "RateLimiter",
    "Strategy",
    "client_ip",
}

test_page_code_runs, test_public_names_are_frozen, test_private_modules_declare_all = battery_tests(
    "ratelimit", RATELIMIT_API, ["_keys", "_limiter", "_middleware"], min_tests=3
)
