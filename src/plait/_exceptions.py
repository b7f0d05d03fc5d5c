"""HTTP errors and their RFC 9457 problem-details rendering."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

__all__ = ["HTTPException", "WebSocketException", "phrase"]


def phrase(status_code: int) -> str:
    """The reason phrase of a status code ("Not Found"), or "" for an unknown code."""
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return ""


class HTTPException(Exception):
    """Raise from a handler (or anywhere below it) to answer with an error status.

    The default handler renders it as ``application/problem+json`` (RFC 9457)::

        raise HTTPException(404, "No article 42")

    ``detail`` may be a string or any JSON-serialisable value; ``extra`` adds members to the
    problem document (e.g. ``errors`` for validation failures); ``type`` is the problem type URI.
    """

    def __init__(
        self,
        status_code: int,
        detail: Any = None,
        headers: Mapping[str, str] | None = None,
        *,
        title: str | None = None,
        type: str = "about:blank",
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        if not 400 <= status_code <= 599:
            raise ValueError(f"HTTPException needs a 4xx or 5xx status, got {status_code}")
        self.status_code = status_code
        self.title = title or phrase(status_code)
        self.detail = detail
        self.headers = dict(headers) if headers else None
        self.type = type
        self.extra = dict(extra) if extra else None
        super().__init__(status_code, detail)

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        """The RFC 9457 problem document for this error."""
        problem: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status_code,
        }
        if self.detail is not None:
            problem["detail"] = self.detail
        if instance is not None:
            problem["instance"] = instance
        if self.extra:
            problem.update(self.extra)
        return problem

    def __str__(self) -> str:
        return f"{self.status_code}: {self.detail if self.detail is not None else self.title}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code!r}, detail={self.detail!r})"


class WebSocketException(Exception):
    """Raise inside a WebSocket handler to close the connection with ``code`` and ``reason``."""

    def __init__(self, code: int = 1008, reason: str = "") -> None:
        self.code = code
        self.reason = reason
        super().__init__(code, reason)
