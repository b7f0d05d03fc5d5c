"""The documented shapes of plait's error responses (RFC 9457 problem details).

Use them in ``responses=`` to document an error a handler raises::

    @app.get("/items/{item_id}", responses={404: Problem})
    async def get_item(item_id: int) -> Item: ...
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["FieldError", "Problem", "ValidationProblem"]


class Problem(msgspec.Struct, kw_only=True):
    """An RFC 9457 problem document (application/problem+json), as HTTPException renders it."""

    type: str
    """A URI identifying the problem type (``about:blank`` when only the status matters)."""
    title: str
    """A short summary of the problem type (``Not Found``)."""
    status: int
    """The HTTP status code."""
    detail: Any = None
    """What went wrong this time, for a human."""
    instance: str | None = None
    """A URI identifying this occurrence."""


class FieldError(msgspec.Struct):
    """One invalid value of a request: where it is, what is wrong, and a machine-readable kind."""

    loc: list[str | int]
    """Where the value is: ``["query", "limit"]``, ``["body", "tags", 2]``."""
    msg: str
    type: str
    """``missing``, ``invalid``, ``extra_forbidden``…"""


class ValidationProblem(Problem, kw_only=True):
    """The 422 problem document listing every invalid field of a request."""

    errors: list[FieldError]
