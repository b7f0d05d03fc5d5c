"""Reading a route's JSON body and form parameters: decoded and validated in one pass per
request, the errors collected for the 422 (used by :mod:`plait._binding`)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, get_args, get_origin

import msgspec

from plait._datastructures import FormData, UploadFile
from plait._exceptions import HTTPException
from plait._request import (
    MAX_FRACTION_FLOATS,
    Request,
    decode_integral,
    is_json_content_type,
    malformed_json,
    too_deep,
)
from plait._signature import (
    ParamInfo,
    contains_pydantic,
    is_model_type,
    is_pydantic_model,
    is_sequence_type,
    strip_type,
)
from plait._validation import (
    ValidationErrorItem,
    collect_errors,
    error_item,
    from_msgspec,
    from_pydantic,
    model_fields,
    pydantic_validator,
)

__all__ = ["BodyReader", "Errors", "FormReader"]

Errors = list[ValidationErrorItem]


def _fresh_default(default: Any) -> Callable[[], Any]:
    if isinstance(default, list | dict | set):
        return lambda: copy.copy(default)
    return lambda: default


class BodyReader:
    """Reads and validates the JSON body once for every body parameter of a route.

    msgspec decodes and validates in one pass; a parameter whose type mentions a Pydantic
    model is decoded as plain JSON and then validated by Pydantic.
    """

    def __init__(self, infos: list[ParamInfo]) -> None:
        self.infos = infos
        self.single = len(infos) == 1 and not infos[0].embed
        self.checks = [
            pydantic_validator(i.annotation) if contains_pydantic(i.annotation) else None
            for i in infos
        ]
        self.pydantic = any(self.checks)
        types = [
            Any if check else i.annotation for i, check in zip(infos, self.checks, strict=True)
        ]
        if self.single:
            self.type: Any = types[0]
            self.required = infos[0].required
        else:
            fields = [
                (i.key, tp) if i.required else (i.key, tp, i.default)
                for i, tp in zip(infos, types, strict=True)
            ]
            self.type = msgspec.defstruct("Body", fields)
            self.required = any(i.required for i in infos)
        self.decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(self.type)

    def _retry_integral(self, data: Any, changed: bool | None) -> Any:
        """``data`` (decoded with whole-number floats as ints) validated, or ``_NO_VALUE``.

        Only on the slow path, after the one-pass decode failed: ``{"qty": 3.0}`` is valid
        for an ``int`` field by the JSON Schema the OpenAPI document publishes. A float
        field still takes the int (msgspec accepts ints for floats).
        """
        if not changed:
            return _NO_VALUE
        try:
            return msgspec.convert(data, self.decoder.type)
        except msgspec.ValidationError:
            return _NO_VALUE

    async def read(self, request: Request, errors: Errors) -> list[Any]:
        self.check_type(request)
        return self.parse(await request.body(), errors)

    def check_type(self, request: Request) -> None:
        """Refuse a body that says it is not JSON (415), before reading it."""
        content_type = request._header("content-type")
        # PERF: the exact common value needs no parsing.
        if (
            content_type is not None
            and content_type != "application/json"
            and not is_json_content_type(content_type)
        ):
            raise HTTPException(
                415,
                f"Expected a JSON body, got Content-Type {content_type!r}",
                title="Unsupported Media Type",
            )

    def parse(self, body: bytes, errors: Errors) -> list[Any]:
        """The values of the body parameters, decoded and validated from ``body``."""
        if not body:
            if self.required:
                errors.append(error_item(["body"], "A JSON body is required", "missing"))
                return [None] * len(self.infos)
            return [_fresh_default(i.default)() for i in self.infos]
        try:
            value = self.decoder.decode(body)
        except msgspec.ValidationError:
            # The error path: C-speed decodes and a bounded walk (collect_errors), whatever
            # the body's size (docs/typed-handlers.md states the cost).
            data, changed = decode_integral(body)
            value = self._retry_integral(data, changed)
            if value is _NO_VALUE:
                found = collect_errors(data, self.type, ["body"])
                if changed is None and all(e["type"] == "too_many_errors" for e in found):
                    found = []  # floats left as they are, and no other error found
                errors.extend(found or [_too_many_floats()])
                if not self.single and isinstance(data, dict):
                    for info, check in zip(self.infos, self.checks, strict=True):
                        if check is not None and info.key in data:
                            _run_check(check, data[info.key], ["body", info.key], errors)
                return [None] * len(self.infos)
        except msgspec.DecodeError as exc:
            raise _malformed(exc) from None
        except RecursionError:
            raise too_deep() from None
        values = [value] if self.single else [getattr(value, i.key) for i in self.infos]
        if not self.pydantic:
            return values
        for n, (info, check) in enumerate(zip(self.infos, self.checks, strict=True)):
            if check is not None and values[n] is not info.default:
                loc: list[str | int] = ["body"] if self.single else ["body", info.key]
                values[n] = _run_check(check, values[n], loc, errors)
        return values


_NO_VALUE: Any = object()


def _run_check(check: Callable[[Any], Any], data: Any, loc: list[str | int], errors: Errors) -> Any:
    try:
        return check(data)
    except Exception as exc:  # pydantic.ValidationError, without importing pydantic
        if not hasattr(exc, "errors"):
            raise
        errors.extend(from_pydantic(exc, loc))
        return None


def _too_many_floats() -> ValidationErrorItem:
    """The error of a body valid only once its whole-number floats are ints, and too large
    for that retry (it has more than ``MAX_FRACTION_FLOATS`` floats, some with a fraction)."""
    return error_item(
        ["body"],
        f"Whole-number floats such as 3.0 are taken as integers only in bodies with at most "
        f"{MAX_FRACTION_FLOATS:,} floats: send 3",
        "too_many_floats",
    )


def _malformed(exc: msgspec.DecodeError) -> HTTPException:
    return HTTPException(400, malformed_json(exc), title="Malformed JSON")


def _wants_bytes(info: ParamInfo) -> bool:
    tp = strip_type(info.annotation)
    if get_origin(tp) is list:
        tp = strip_type(get_args(tp)[0])
    return tp is bytes


class FormReader:
    """Reads form fields and files for the form/file parameters of a route.

    A parameter of a structured type (``Annotated[Login, Form()]``) is built from the whole
    form; its list fields take every value of their key, its other fields the last one.
    """

    def __init__(self, infos: list[ParamInfo]) -> None:
        self.infos = infos
        self.models = {
            id(i): _FormModel(i.annotation) for i in infos if is_model_type(i.annotation)
        }
        self.bytes = [id(i) for i in infos if i.source == "file" and _wants_bytes(i)]

    async def read(self, request: Request, errors: Errors) -> list[Any]:
        form = await request.form()
        values = []
        for info in self.infos:
            model = self.models.get(id(info))
            value = model.build(form, errors) if model else self._one(form, info, errors)
            if id(info) in self.bytes and value is not None:
                value = await _read_files(value)
            values.append(value)
        return values

    def _one(self, form: FormData, info: ParamInfo, errors: Errors) -> Any:
        loc = ["body", info.key]
        values = form.getlist(info.key)
        if not values:
            if info.required:
                errors.append(error_item(loc, "Field required", "missing"))
                return None
            return _fresh_default(info.default)()
        if info.source == "file":
            files = [v for v in values if isinstance(v, UploadFile)]
            if len(files) != len(values):
                errors.append(error_item(loc, "Expected an uploaded file", "invalid"))
                return None
            return files if info.multiple else files[-1]
        if any(isinstance(v, UploadFile) for v in values):
            errors.append(error_item(loc, "Expected a form field, got a file", "invalid"))
            return None
        raw: Any = values if info.multiple else values[-1]
        try:
            return msgspec.convert(raw, info.annotation, strict=False)
        except msgspec.ValidationError as exc:
            errors.append(from_msgspec(exc, loc))
            return None


class _FormModel:
    """A Struct, dataclass, TypedDict or Pydantic model built from a whole form."""

    def __init__(self, annotation: Any) -> None:
        self.annotation = annotation
        self.check = pydantic_validator(annotation) if contains_pydantic(annotation) else None
        self.list_keys = {
            name for name, hint in _field_hints(strip_type(annotation)) if is_sequence_type(hint)
        }

    def build(self, form: FormData, errors: Errors) -> Any:
        data: dict[str, Any] = {}
        for key in form:
            values = form.getlist(key)
            data[key] = values if key in self.list_keys else values[-1]
        if self.check is not None:
            return _run_check(self.check, data, ["body"], errors)
        try:
            return msgspec.convert(data, self.annotation, strict=False)
        except msgspec.ValidationError:
            errors.extend(collect_errors(data, self.annotation, ["body"], strict=False))
            return None


def _field_hints(tp: Any) -> list[tuple[str, Any]]:
    """``(name in the form, type)`` of each field of a model type."""
    if is_pydantic_model(tp):
        return [(f.alias or name, f.annotation) for name, f in tp.model_fields.items()]
    return [(name, hint) for name, hint, _ in model_fields(tp) or ()]


async def _read_files(value: UploadFile | list[UploadFile]) -> bytes | list[bytes]:
    if isinstance(value, list):
        return [await f.read() for f in value]
    return await value.read()
