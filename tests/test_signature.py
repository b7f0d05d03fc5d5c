"""Signatures read once at start-up: source rules, plans, and clear errors for bad handlers.

No ``from __future__ import annotations``: handlers and dependencies are defined in the tests.
"""

import dataclasses
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

import msgspec
import pydantic
import pytest

import plait._pipeline
from plait import (
    App,
    BackgroundTasks,
    Body,
    Cookie,
    Depends,
    File,
    Form,
    Header,
    Path,
    Query,
    Request,
    Response,
    UploadFile,
)
from plait._signature import CallPlan, SignatureError
from plait.testing import TestClient


class Struct(msgspec.Struct):
    a: int


@dataclasses.dataclass
class Data:
    a: int


class Typed(TypedDict):
    a: int


class Model(pydantic.BaseModel):
    a: int


def plan_of(handler: Callable[..., Any], path: str = "/", method: str = "GET") -> CallPlan:
    app = App()
    app.route(path, methods=[method])(handler)
    # The app may add routes of its own (the OpenAPI document): pick the handler's.
    [compiled] = [c for c in app.compiled_routes() if c.route.endpoint is handler]
    plan: CallPlan = compiled.plan
    return plan


def sources(plan: CallPlan) -> dict[str, tuple[str, str]]:
    return {p.name: (p.source, p.key) for p in plan.all_params()}


# ------------------------------------------------------------------ source rules


def test_default_sources_follow_the_type() -> None:
    def handler(
        item_id: int,
        q: str,
        tags: list[str],
        ids: set[int],
        when: float | None,
        struct: Struct,
    ) -> None: ...

    assert sources(plan_of(handler, "/items/{item_id}")) == {
        "item_id": ("path", "item_id"),
        "q": ("query", "q"),
        "tags": ("query", "tags"),
        "ids": ("query", "ids"),
        "when": ("query", "when"),
        "struct": ("body", "struct"),
    }


@pytest.mark.parametrize(
    "annotation",
    [Struct, Data, Typed, Model, dict[str, int], list[Struct], Struct | None, dict],
)
def test_structured_types_default_to_the_json_body(annotation: Any) -> None:
    def handler(value: Any) -> None: ...

    handler.__annotations__["value"] = annotation
    [param] = plan_of(handler, method="POST").params
    assert param.source == "body"


@pytest.mark.parametrize(
    ("annotation", "multiple"), [(UploadFile, False), (list[UploadFile], True)]
)
def test_upload_files_default_to_file(annotation: Any, multiple: bool) -> None:
    def handler(upload: Any) -> None: ...

    handler.__annotations__["upload"] = annotation
    [param] = plan_of(handler, method="POST").params
    assert (param.source, param.multiple) == ("file", multiple)


def test_markers_choose_the_source_and_key() -> None:
    def handler(
        pid: Annotated[int, Path()],
        q: Annotated[str, Query(alias="search")],
        user_agent: Annotated[str, Header()],
        raw_name: Annotated[str, Header(convert_underscores=False)],
        token: Annotated[str, Header(alias="X-Token")],
        sid: Annotated[str, Cookie(alias="session")],
        name: Annotated[str, Form()],
        upload: Annotated[bytes, File()],
    ) -> None: ...

    assert sources(plan_of(handler, "/{pid}", "POST")) == {
        "pid": ("path", "pid"),
        "q": ("query", "search"),
        "user_agent": ("header", "user-agent"),
        "raw_name": ("header", "raw_name"),
        "token": ("header", "X-Token"),
        "sid": ("cookie", "session"),
        "name": ("form", "name"),
        "upload": ("file", "upload"),
    }


def test_body_marker_turns_scalars_and_lists_into_body_fields() -> None:
    def handler(
        n: Annotated[int, Body()],
        items: Annotated[list[int], Body()],
        wrapped: Annotated[Struct, Body(embed=True)],
    ) -> None: ...

    plan = plan_of(handler, method="POST")
    assert [(p.source, p.embed) for p in plan.params] == [
        ("body", False),
        ("body", False),
        ("body", True),
    ]


def test_injectables_are_recognised_by_type() -> None:
    def handler(request: Request, tasks: BackgroundTasks, response: Response) -> None: ...

    plan = plan_of(handler)
    assert plan.params == []
    assert plan.specials == [
        ("request", "connection"),
        ("tasks", "background"),
        ("response", "response"),
    ]


def test_marker_constraints_become_part_of_the_type() -> None:
    def handler(limit: Annotated[int, Query(ge=1, le=100, description="Page size")] = 10) -> None:
        pass

    [param] = plan_of(handler).params
    assert param.default == 10
    assert not param.required
    assert param.python_type is int
    meta = param.annotation.__metadata__[-1]
    assert (meta.ge, meta.le, meta.description) == (1, 100, "Page size")


def test_dependency_parameters_are_part_of_the_plan() -> None:
    def pagination(page: int = 1, x_tenant: Annotated[str, Header()] = "") -> int:
        return page

    def handler(p: Annotated[int, Depends(pagination)], q: str = "") -> None: ...

    plan = plan_of(handler)
    [dep] = plan.dependencies
    assert dep.call is pagination
    assert dep.use_cache
    assert sources(plan) == {
        "page": ("query", "page"),
        "x_tenant": ("header", "x-tenant"),
        "q": ("query", "q"),
    }


def test_plans_are_compiled_once_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    analysed: list[str] = []
    real_analyze = plait._pipeline.analyze

    def counting_analyze(func: Callable[..., Any], *args: Any) -> CallPlan:
        if func.__name__ == "a":  # not the app's own routes (the OpenAPI document)
            analysed.append(func.__name__)
        return real_analyze(func, *args)

    monkeypatch.setattr(plait._pipeline, "analyze", counting_analyze)

    def get_db() -> str:
        return "db"

    app = App()

    @app.get("/a/{n}")
    async def a(n: int, db: Annotated[str, Depends(get_db)]) -> str:
        return db

    with TestClient(app) as client:
        for n in range(5):
            assert client.get(f"/a/{n}").text == "db"
        assert analysed == ["a"]
        app.dependency_overrides[get_db] = lambda: "other"
        assert client.get("/a/1").text == "other"
        assert analysed == ["a", "a"]  # changing the overrides recompiles once
        assert client.get("/a/2").text == "other"
        assert analysed == ["a", "a"]


# ------------------------------------------------------------------ start-up errors


def build_error(handler: Callable[..., Any], path: str = "/", method: str = "GET") -> str:
    app = App()
    app.route(path, methods=[method])(handler)
    with pytest.raises(SignatureError) as info:
        app.build()
    return str(info.value)


class Unknown:
    pass


def test_unbindable_parameter_names_the_handler_and_parameter() -> None:
    def handler(thing: Unknown) -> None: ...

    message = build_error(handler)
    assert "parameter 'thing'" in message
    assert "test_signature.test_unbindable_parameter_names_the_handler_and_parameter" in message
    assert "handler" in message
    assert "Depends()" in message


def test_start_up_error_reaches_the_server_before_any_request() -> None:
    def handler(thing: Unknown) -> None: ...

    app = App()
    app.get("/")(handler)
    with pytest.raises(RuntimeError, match=r"start-up failed.*parameter 'thing'"), TestClient(app):
        pass


def test_dependency_cycle_names_the_handler_and_parameter() -> None:
    def first(value: Annotated[int, Depends(lambda: 0)]) -> int:
        return value

    def second(value: Annotated[int, Depends(first)]) -> int:
        return value

    # Close the loop: first -> second -> first.
    first.__annotations__["value"] = Annotated[int, Depends(second)]

    def handler(v: Annotated[int, Depends(first)]) -> None: ...

    message = build_error(handler)
    assert message.startswith("Dependency cycle at parameter 'value' of ")
    assert ".handler -> " in message
    chain = message.split(": ", 1)[1].split(" -> ")
    assert [part.rsplit(".", 1)[1] for part in chain] == ["handler", "first", "second", "first"]


def test_dependency_on_itself_is_a_cycle() -> None:
    def loop(value: Annotated[int, Depends(lambda: 0)]) -> int:
        return value

    loop.__annotations__["value"] = Annotated[int, Depends(loop)]

    def handler(v: Annotated[int, Depends(loop)]) -> None: ...

    assert "Dependency cycle at parameter 'value'" in build_error(handler)


def test_unbindable_parameter_of_a_dependency() -> None:
    def dep(thing: Unknown) -> None: ...

    def handler(v: Annotated[None, Depends(dep)]) -> None: ...

    message = build_error(handler)
    assert "parameter 'thing'" in message
    assert ".dep" in message


@pytest.mark.parametrize(
    ("annotation", "default", "expected"),
    [
        (Annotated[int, Path()], None, "marked Path() but the route has no {x}"),
        (Annotated[int, Query(5)], 6, "either to the marker or to the parameter"),
        (Annotated[dict[str, int], Query()], None, "must be a scalar or a list of scalars"),
        (Annotated[Struct, Header()], None, "must be a scalar or a list of scalars"),
        (Annotated[str, Query(ge=1)], None, "Can only set `ge` on a numeric type"),
        (Annotated[int, Query(min_length=1)], None, "min_length"),
        (Annotated[int, Query(ge="one")], None, "`ge` must be an int or float"),  # type: ignore[arg-type]
        (Annotated[Any, Depends()], None, "Depends() without a callable"),
        (Annotated[list[int], Depends()], None, "Depends() without a callable"),
    ],
)
def test_bad_parameter_declarations(annotation: Any, default: Any, expected: str) -> None:
    def handler(x: Any = default) -> None: ...

    if default is None:
        handler.__defaults__ = None
    handler.__annotations__["x"] = annotation
    message = build_error(handler)
    assert message.startswith("parameter 'x' of ")
    assert expected in message


def test_path_parameters_cannot_have_defaults() -> None:
    def handler(x: int = 3) -> None: ...

    assert "path parameters cannot have a default" in build_error(handler, "/{x}")


def test_unresolvable_annotation() -> None:
    def handler(x: "NoSuchType") -> None: ...  # type: ignore[name-defined]  # noqa: F821

    message = build_error(handler)
    assert "Cannot read the type hints" in message
    assert "NoSuchType" in message


def test_json_body_and_form_cannot_be_mixed() -> None:
    def handler(data: Struct, name: Annotated[str, Form()]) -> None: ...

    assert "mixes JSON body and form parameters" in build_error(handler, method="POST")
