"""Turning a handler's return value into a response, with exact type checks first."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any, Union, get_args, get_origin

import msgspec

from plait._background import BackgroundTask
from plait._responses import JSONResponse, Response, json_encoder
from plait._signature import contains_model_type, contains_pydantic

__all__ = ["PreparedResponse", "ResponseValidationError", "make_message_writer", "make_renderer"]

_TEXT = (b"content-type", b"text/plain; charset=utf-8")
_BYTES = (b"content-type", b"application/octet-stream")
_JSON = (b"content-type", b"application/json")
# PERF: the Content-Length header of every short body, built once.
_LENGTHS = [(b"content-length", str(n).encode()) for n in range(2048)]


def _length(n: int) -> tuple[bytes, bytes]:
    return (b"content-length", str(n).encode())


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


def _output_converter(response_type: Any) -> Callable[[Any], Any] | None:
    """Validate and filter return values against the declared output type.

    Only types holding structured types (Structs, dataclasses, TypedDicts, Pydantic models,
    anywhere inside: ``list[Out]``, ``dict[str, Out]``, ``Out | None``) filter anything: a
    handler returning an ORM object or a dict with a ``password_hash`` key sends only the
    fields the output type declares. ``Response`` members of a union are passed through.
    """
    response_type = _without_responses(response_type)
    if response_type is None or not contains_model_type(response_type):
        return None
    if contains_pydantic(response_type):
        return _pydantic_converter(response_type)
    try:
        msgspec.json.Decoder(response_type)
    except TypeError as exc:
        raise TypeError(f"Cannot validate responses against {response_type!r}: {exc}") from None

    item = _list_item_class(response_type)

    def to_output(value: Any) -> Any:
        # PERF: a value already of the declared class needs no conversion; nor does a list
        # of such values for ``list[Out]`` (rows read straight into Structs: converting 20
        # of them again cost about 20 µs).
        if type(value) is response_type:
            return value
        if item is not None and type(value) is list and all(type(v) is item for v in value):
            return value
        try:
            return msgspec.convert(value, response_type, from_attributes=True)
        except msgspec.ValidationError as exc:
            raise ResponseValidationError(
                f"The handler returned a value that does not match {response_type!r}: {exc}"
            ) from exc

    return to_output


def _list_item_class(tp: Any) -> type | None:
    """``Out`` for ``list[Out]`` where ``Out`` is a class (a Struct, a dataclass)."""
    if get_origin(tp) is not list:
        return None
    (item,) = get_args(tp) or (None,)
    return item if isinstance(item, type) else None


def _without_responses(tp: Any) -> Any:
    """``tp`` without its ``Response`` members (``Out | RedirectResponse`` -> ``Out``)."""
    if isinstance(tp, type) and issubclass(tp, Response):
        return None
    if get_origin(tp) not in (Union, types.UnionType):
        return tp
    members = [a for a in get_args(tp) if not (isinstance(a, type) and issubclass(a, Response))]
    if not members:
        return None
    return Union[tuple(members)]  # noqa: UP007 - built from a runtime list


def _pydantic_converter(response_type: Any) -> Callable[[Any], Any]:
    if isinstance(response_type, type):
        model: Any = response_type

        def validate(value: Any) -> Any:
            if type(value) is not model:
                value = model.model_validate(value, from_attributes=True)
            return value.model_dump(mode="json")

    else:
        from pydantic import TypeAdapter  # optional: the app declared a Pydantic model

        adapter: Any = TypeAdapter(response_type)

        def validate(value: Any) -> Any:
            value = adapter.validate_python(value, from_attributes=True)
            return adapter.dump_python(value, mode="json")

    def to_pydantic(value: Any) -> Any:
        try:
            return validate(value)
        except Exception as exc:  # pydantic.ValidationError, without importing pydantic
            if not hasattr(exc, "errors"):
                raise
            raise ResponseValidationError(
                f"The handler returned a value that does not match {response_type!r}: {exc}"
            ) from exc

    return to_pydantic


class ResponseValidationError(TypeError):
    """A handler returned something its declared output type rejects (a server bug: 500)."""


def make_renderer(
    status_code: int | None,
    response_class: type[Response] | None,
    response_type: Any = None,
) -> Callable[[Any], Response]:
    """Build the function that converts one route's return values into responses."""
    status = status_code if status_code is not None else 200
    convert = _output_converter(response_type)
    if convert is not None:
        plain = make_renderer(status_code, response_class)
        # PERF: a value of exactly the declared class (a Struct or dataclass, not a Pydantic
        # model, whose converter dumps it) is encoded as it is: no conversion, no type checks.
        exact = (
            response_type
            if isinstance(response_type, type)
            and response_class in (None, JSONResponse)
            and not contains_pydantic(response_type)
            else None
        )

        def render_output(result: Any) -> Response:
            if type(result) is exact:
                return _json(status, result)
            if result is None or isinstance(result, Response):
                return plain(result)
            return plain(convert(result))

        return render_output

    if response_class is not None and response_class is not JSONResponse:
        cls = response_class
        # Without status_code=, the class keeps its own default (307 for RedirectResponse).
        options: dict[str, Any] = {} if status_code is None else {"status_code": status_code}

        def render_with_class(result: Any) -> Response:
            if isinstance(result, Response):
                return result
            return cls(result, **options)

        return render_with_class

    def render(result: Any) -> Response:
        kind = type(result)
        if kind is str:
            body = result.encode()
            n = len(body)
            return PreparedResponse(status, [_TEXT, _LENGTHS[n] if n < 2048 else _length(n)], body)
        if kind is dict or kind is list:
            body = json_encoder.encode(result)
            n = len(body)
            return PreparedResponse(status, [_JSON, _LENGTHS[n] if n < 2048 else _length(n)], body)
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
        return _json(status, result)

    if response_class is JSONResponse:
        # An explicit JSONResponse makes every value JSON, strings included.
        def render_json(result: Any) -> Response:
            if result is None or isinstance(result, Response):
                return render(result)
            return _json(status, result)

        return render_json
    return render


MessageWriter = Callable[[Any], "tuple[dict[str, Any], bytes] | None"]


def make_message_writer(
    status_code: int | None,
    response_class: type[Response] | None,
    response_type: Any = None,
) -> MessageWriter | None:
    """Build the function that turns one route's common results straight into ASGI messages.

    # PERF: for a ``str``, a ``dict`` or ``list`` (or a value of exactly the declared output
    class) it returns the ``http.response.start`` message and the body, so the app sends
    them without building a response object; for anything else it returns ``None`` and the
    route's renderer takes over. ``None`` instead of a function when the route's responses
    all need the renderer (a ``response_class``, a declared type that filters dicts).
    """
    if response_class is not None:
        return None
    status = status_code if status_code is not None else 200
    declared = _without_responses(response_type)
    if declared is not None and contains_model_type(declared):
        # The renderer filters these through the declared type: only its own class skips it.
        exact = response_type
        if not isinstance(exact, type) or contains_pydantic(exact):
            return None

        def direct_output(result: Any) -> tuple[dict[str, Any], bytes] | None:
            if type(result) is not exact:
                return None
            body = json_encoder.encode(result)
            n = len(body)
            headers = [_JSON, _LENGTHS[n] if n < 2048 else _length(n)]
            return {"type": "http.response.start", "status": status, "headers": headers}, body

        return direct_output

    def direct(result: Any) -> tuple[dict[str, Any], bytes] | None:
        kind = type(result)
        if kind is str:
            body = result.encode()
            content_type = _TEXT
        elif kind is dict or kind is list:
            body = json_encoder.encode(result)
            content_type = _JSON
        else:
            return None
        n = len(body)
        headers = [content_type, _LENGTHS[n] if n < 2048 else _length(n)]
        return {"type": "http.response.start", "status": status, "headers": headers}, body

    return direct


def _json(status: int, result: Any) -> PreparedResponse:
    body = json_encoder.encode(result)
    n = len(body)
    return PreparedResponse(status, [_JSON, _LENGTHS[n] if n < 2048 else _length(n)], body)
