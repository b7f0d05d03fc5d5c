"""Turning a handler's return value into a response, with exact type checks first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plait._background import BackgroundTask
from plait._responses import JSONResponse, Response, json_encoder

__all__ = ["PreparedResponse", "make_renderer"]

_TEXT = (b"content-type", b"text/plain; charset=utf-8")
_BYTES = (b"content-type", b"application/octet-stream")
_JSON = (b"content-type", b"application/json")


class PreparedResponse(Response):
    """A response whose status, raw headers and body are already computed.

    # PERF: skips ``Response.__init__`` (header normalisation, render dispatch) on the
    hot path of handlers that return ``str``, ``bytes`` or JSON-able values.
    """

    def __init__(
        self,
        status_code: int,
        raw_headers: list[tuple[bytes, bytes]],
        body: bytes,
        background: BackgroundTask | None = None,
    ) -> None:
        self.status_code = status_code
        self.raw_headers = raw_headers
        self.body = body
        self.background = background


def _to_builtins(value: Any) -> Any:
    # Pydantic models are encoded through their own serialiser, without importing pydantic.
    dump = getattr(value, "model_dump", None)
    if dump is not None:
        return dump(mode="json")
    raise TypeError(f"Handlers cannot return a {type(value).__name__!r}")


def make_renderer(
    status_code: int | None, response_class: type[Response] | None
) -> Callable[[Any], Response]:
    """Build the function that converts one route's return values into responses."""
    status = status_code if status_code is not None else 200

    if response_class is not None and response_class is not JSONResponse:
        cls = response_class

        def render_with_class(result: Any) -> Response:
            if isinstance(result, Response):
                return result
            return cls(result, status_code=status)

        return render_with_class

    def render(result: Any) -> Response:
        kind = type(result)
        if kind is str:
            body = result.encode()
            return PreparedResponse(
                status, [_TEXT, (b"content-length", str(len(body)).encode())], body
            )
        if kind is dict or kind is list:
            body = json_encoder.encode(result)
            return PreparedResponse(
                status, [_JSON, (b"content-length", str(len(body)).encode())], body
            )
        if result is None:
            empty = status_code or 204
            headers = [] if empty in (204, 304) else [(b"content-length", b"0")]
            return PreparedResponse(empty, headers, b"")
        if isinstance(result, Response):
            return result
        if kind is bytes:
            return PreparedResponse(
                status, [_BYTES, (b"content-length", str(len(result)).encode())], result
            )
        if isinstance(result, str):
            return render(str(result))
        try:
            body = json_encoder.encode(result)
        except TypeError:
            body = json_encoder.encode(_to_builtins(result))
        return PreparedResponse(status, [_JSON, (b"content-length", str(len(body)).encode())], body)

    return render
