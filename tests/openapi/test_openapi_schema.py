"""The generated OpenAPI 3.1 document, field by field, for a rich app and small inline ones."""

# No "from __future__ import annotations": handlers here use classes local to the tests.

from typing import Annotated, Any, Generic, Literal, TypeVar

import msgspec
import openapi_rich_app as rich
import pydantic
import pytest
from openapi_spec_validator import validate

from plait import App, Body, Depends, Form, HTTPException, Query
from plait.openapi import Problem, openapi_schema

PROBLEM = {"$ref": "#/components/schemas/Problem"}
VALIDATION = {"$ref": "#/components/schemas/ValidationProblem"}


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return openapi_schema(rich.app)


def params(operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{p['in']}:{p['name']}": p for p in operation.get("parameters", [])}


def problem(status_doc: dict[str, Any]) -> Any:
    return status_doc["content"]["application/problem+json"]["schema"]


def test_document_is_valid_openapi_3_1(doc: dict[str, Any]) -> None:
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    assert doc["info"] == {
        "title": "Rich",
        "version": "2.0",
        "description": "Everything the generator documents.",
    }
    assert doc["servers"] == [{"url": "https://api.example.com"}]
    assert doc["tags"] == [{"name": "users", "description": "People."}]


def test_paths_drop_convertors_hidden_routes_docs_and_automatic_head(doc: dict[str, Any]) -> None:
    assert list(doc["paths"]) == [
        "/users/{user_id}",
        "/users",
        "/users/{user_id}/note",
        "/upload",
        "/login",
        "/stats",
        "/colors/{color}",
        "/raw",
        "/multi",
        "/v1/ping",
        "/v2/ping",
    ]
    assert list(doc["paths"]["/users/{user_id}"]) == ["get", "delete"]
    assert list(doc["paths"]["/multi"]) == ["get", "post"]
    assert all("head" not in item for item in doc["paths"].values())


def test_operation_ids_are_unique_and_stable(doc: dict[str, Any]) -> None:
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert doc["paths"]["/users/{user_id}"]["get"]["operationId"] == "get_user_get"
    assert doc["paths"]["/users/{user_id}/note"]["put"]["operationId"] == "set-note"
    assert doc["paths"]["/multi"]["post"]["operationId"] == "multi_post"
    # The same router included twice: registration order decides who gets the suffix.
    assert doc["paths"]["/v1/ping"]["get"]["operationId"] == "ping_get"
    assert doc["paths"]["/v2/ping"]["get"]["operationId"] == "ping_get_2"


def test_summary_description_tags_deprecated(doc: dict[str, Any]) -> None:
    get_user = doc["paths"]["/users/{user_id}"]["get"]
    assert get_user["summary"] == "Get User"
    # The docstring, cut at the form feed.
    assert get_user["description"] == "Get one user.\n\nWith the addresses."
    assert get_user["tags"] == ["users"]
    assert "deprecated" not in get_user
    stats = doc["paths"]["/stats"]["get"]
    assert (stats["summary"], stats["description"], stats["deprecated"]) == (
        "Statistics",
        "Counts.",
        True,
    )
    assert "description" not in doc["paths"]["/raw"]["get"]


def test_parameters(doc: dict[str, Any]) -> None:
    found = params(doc["paths"]["/users/{user_id}"]["get"])
    assert list(found) == [
        "path:user_id",
        "query:verbose",
        "query:fields",
        "query:q",
        "query:old",
        "header:X-Request-ID",
        "cookie:session",
    ]  # path first; the hidden "internal" is left out
    # {user_id:int} matches no "-1": the convertor adds minimum 0.
    assert found["path:user_id"] == {
        "name": "user_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    }
    assert found["query:verbose"] == {
        "name": "verbose",
        "in": "query",
        "required": False,
        "schema": {"type": "boolean", "default": False},
    }
    assert found["query:fields"]["schema"] == {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
    }
    assert (found["query:fields"]["style"], found["query:fields"]["explode"]) == ("form", True)
    assert found["query:q"]["examples"] == {"example1": {"value": "alice"}}
    assert found["query:q"]["schema"]["maxLength"] == 20
    assert found["query:old"]["deprecated"] is True
    assert found["header:X-Request-ID"]["description"] == "Trace id."
    assert "description" not in found["header:X-Request-ID"]["schema"]
    assert found["cookie:session"]["required"] is False


def test_dependency_parameters_are_documented(doc: dict[str, Any]) -> None:
    found = params(doc["paths"]["/users/{user_id}"]["delete"])
    assert found["query:page"] == {
        "name": "page",
        "in": "query",
        "required": False,
        "description": "Page number.",
        "schema": {"type": "integer", "minimum": 1, "default": 1},
    }


def test_enum_path_parameter_is_a_component(doc: dict[str, Any]) -> None:
    found = params(doc["paths"]["/colors/{color}"]["get"])
    assert found["path:color"]["schema"] == {"$ref": "#/components/schemas/Color"}
    assert doc["components"]["schemas"]["Color"]["enum"] == ["green", "red"]
    assert doc["components"]["schemas"]["Color"]["type"] == "string"


def test_json_body_is_the_struct(doc: dict[str, Any]) -> None:
    body = doc["paths"]["/users"]["post"]["requestBody"]
    assert body == {
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UserIn"}}},
        "required": True,
    }
    user_in = doc["components"]["schemas"]["UserIn"]
    assert user_in["required"] == ["name", "age"]
    assert user_in["properties"]["name"] == {"type": "string", "maxLength": 50, "minLength": 1}
    assert user_in["properties"]["age"] == {"type": "integer", "minimum": 0, "maximum": 150}
    assert user_in["properties"]["addresses"]["items"] == {"$ref": "#/components/schemas/Address"}
    assert user_in["properties"]["favourite"]["anyOf"] == [
        {"$ref": "#/components/schemas/Color"},
        {"type": "null"},
    ]
    assert doc["components"]["schemas"]["Address"]["properties"]["city"]["minLength"] == 1


def test_embedded_body_parameters_make_one_object(doc: dict[str, Any]) -> None:
    body = doc["paths"]["/users/{user_id}/note"]["put"]["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Body_set-note"
    }
    component = doc["components"]["schemas"]["Body_set-note"]
    assert component["properties"] == {
        "note": {"$ref": "#/components/schemas/Note"},
        "pinned": {"type": "boolean", "default": False},
    }
    assert component["required"] == ["note"]


def test_form_and_file_bodies(doc: dict[str, Any]) -> None:
    upload = doc["paths"]["/upload"]["post"]["requestBody"]
    assert list(upload["content"]) == ["multipart/form-data"]
    ref = upload["content"]["multipart/form-data"]["schema"]["$ref"]
    component = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    binary = {"type": "string", "format": "binary", "contentMediaType": "application/octet-stream"}
    assert component["properties"]["title"] == {"type": "string", "maxLength": 50}
    # No file part at all is "missing": a required list of files has at least one.
    assert component["properties"]["files"] == {"type": "array", "items": binary, "minItems": 1}
    # A form cannot send null: the optional file is just not required.
    assert component["properties"]["cover"] == binary
    assert component["required"] == ["title", "files"]
    # Without a form Content-Type the request gets a 415: the body is always required.
    assert upload["required"] is True
    login = doc["paths"]["/login"]["post"]["requestBody"]
    assert list(login["content"]) == ["application/x-www-form-urlencoded"]


def test_success_responses(doc: dict[str, Any]) -> None:
    paths = doc["paths"]
    get_user = paths["/users/{user_id}"]["get"]["responses"]["200"]
    assert get_user["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/UserOut"}}
    }
    created = paths["/users"]["post"]["responses"]
    assert created["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/UserOut"
    }
    # A declared entry for a status the route never sends on success stays as declared.
    assert created["200"] == {"description": "Never happens"}
    assert paths["/users/{user_id}"]["delete"]["responses"]["204"] == {"description": "No Content"}
    assert "200" not in paths["/users/{user_id}"]["delete"]["responses"]
    assert paths["/login"]["post"]["responses"]["200"]["content"] == {
        "text/plain": {"schema": {"type": "string"}}
    }
    assert paths["/stats"]["get"]["responses"]["200"]["content"]["application/json"] == {
        "schema": {"$ref": "#/components/schemas/Stats"}
    }
    # Unannotated: the body could be anything, so no content is promised.
    assert paths["/raw"]["get"]["responses"] == {"200": {"description": "Successful Response"}}


def test_error_responses(doc: dict[str, Any]) -> None:
    paths = doc["paths"]
    get_user = paths["/users/{user_id}"]["get"]["responses"]
    # 401 and 403: behind a security scheme with scopes.
    assert sorted(get_user) == ["200", "401", "403", "404", "422"]
    assert problem(get_user["401"]) == PROBLEM
    assert get_user["403"]["description"] == "Forbidden"
    assert problem(get_user["404"]) == PROBLEM
    assert problem(get_user["422"]) == VALIDATION
    assert get_user["422"]["description"] == "Validation Error"
    created = paths["/users"]["post"]["responses"]
    assert sorted(created) == ["200", "201", "400", "401", "409", "413", "415", "422"]
    for status in ("400", "413", "415"):
        assert problem(created[status]) == PROBLEM
    # A Problem subclass is documented as problem+json with its own component.
    assert created["409"] == {
        "description": "Conflict",
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Conflict"}}
        },
    }
    # No parameters, no body: nothing can be invalid.
    assert sorted(paths["/stats"]["get"]["responses"]) == ["200"]


def test_problem_components(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    assert schemas["Problem"]["required"] == ["type", "title", "status"]
    assert schemas["ValidationProblem"]["required"] == ["type", "title", "status", "errors"]
    assert schemas["ValidationProblem"]["properties"]["errors"]["items"] == {
        "$ref": "#/components/schemas/FieldError"
    }
    assert schemas["FieldError"]["required"] == ["loc", "msg", "type"]


def test_components_are_shared_not_repeated(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    assert {"Address", "UserIn", "UserOut", "Note", "Stats", "Color"} <= set(schemas)
    # Address is used by UserIn and UserOut: one component, two references.
    assert not any(name.endswith("Address") and name != "Address" for name in schemas)


def test_security_schemes_and_requirements(doc: dict[str, Any]) -> None:
    schemes = doc["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["OAuth2"]["type"] == "oauth2"
    # The scheme of a nested Security() dependency, with its scopes.
    assert doc["paths"]["/users/{user_id}"]["get"]["security"] == [{"OAuth2": ["users:read"]}]
    assert doc["paths"]["/users"]["post"]["security"] == [{"ApiKey": []}]
    assert "security" not in doc["paths"]["/stats"]["get"]


def test_the_document_is_cached() -> None:
    assert openapi_schema(rich.app) is openapi_schema(rich.app)


def test_dependency_overrides_regenerate_the_document() -> None:
    app = App()

    def limit(limit: int = 10) -> int:
        return limit

    def offset(offset: int = 0) -> int:
        return offset

    @app.get("/items")
    async def items(n: Annotated[int, Depends(limit)]) -> list[int]:
        return []

    first = openapi_schema(app)
    assert [p["name"] for p in first["paths"]["/items"]["get"]["parameters"]] == ["limit"]
    app.dependency_overrides[limit] = offset
    second = openapi_schema(app)
    assert second is not first
    assert [p["name"] for p in second["paths"]["/items"]["get"]["parameters"]] == ["offset"]


def test_declared_responses_forms() -> None:
    class NotFound(msgspec.Struct):
        reason: str

    app = App()

    @app.get(
        "/a",
        responses={
            404: NotFound,
            410: "Gone for good",
            418: None,
            200: {"description": "The thing", "headers": {"X-Count": {"schema": {}}}},
            503: {"description": "Later", "model": Problem, "media_type": "application/json"},
            # OpenAPI's "default" (and "4XX") keys pass through, though typed as int.
            "default": {  # type: ignore[dict-item]
                "description": "Anything else",
                "content": {"text/plain": {}},
            },
        },
    )
    async def a() -> str:
        return ""

    responses = openapi_schema(app)["paths"]["/a"]["get"]["responses"]
    validate(openapi_schema(app))
    # A model that is not a Problem: plain JSON.
    assert responses["404"]["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/NotFound"}}
    }
    assert responses["410"] == {
        "description": "Gone for good",
        "content": {"application/problem+json": {"schema": PROBLEM}},
    }
    assert responses["418"]["description"] == "I'm a Teapot"
    assert problem(responses["418"]) == PROBLEM
    # Merged with the generated success response: its content stays.
    assert responses["200"]["description"] == "The thing"
    assert responses["200"]["headers"] == {"X-Count": {"schema": {}}}
    assert responses["200"]["content"] == {"text/plain": {"schema": {"type": "string"}}}
    assert responses["503"]["content"] == {"application/json": {"schema": PROBLEM}}
    assert responses["default"] == {
        "description": "Anything else",
        "content": {"text/plain": {}},
    }


def test_optional_return_documents_204_too() -> None:
    app = App()

    @app.get("/maybe")
    async def maybe(q: str = "") -> dict[str, str] | None:
        return None

    responses = openapi_schema(app)["paths"]["/maybe"]["get"]["responses"]
    assert responses["204"] == {"description": "No Content"}
    assert responses["200"]["content"]["application/json"]["schema"]["anyOf"][1] == {"type": "null"}


def test_body_media_type_and_optional_body() -> None:
    class Patch(msgspec.Struct):
        name: str

    app = App()

    @app.post("/merge")
    async def merge(
        patch: Annotated[
            Patch | None,
            Body(media_type="application/merge-patch+json", description="What to change."),
        ] = None,
    ) -> None:
        return None

    body = openapi_schema(app)["paths"]["/merge"]["post"]["requestBody"]
    assert body["required"] is False
    assert body["description"] == "What to change."
    assert list(body["content"]) == ["application/merge-patch+json"]


def test_path_parameter_the_handler_does_not_take() -> None:
    app = App()

    @app.get("/files/{file_id:uuid}/{name}")
    async def file() -> str:
        return ""

    operation = openapi_schema(app)["paths"]["/files/{file_id}/{name}"]["get"]
    validate(openapi_schema(app))
    found = params(operation)
    assert found["path:file_id"]["schema"]["type"] == "string"
    assert found["path:file_id"]["schema"]["pattern"].startswith("^(?:[0-9a-fA-F]{8}")
    assert found["path:name"]["schema"] == {"type": "string", "minLength": 1}
    # A path that does not match is a 404; nothing else can be invalid.
    assert sorted(operation["responses"]) == ["200", "404"]


def test_explicit_operation_ids_win_over_generated_ones() -> None:
    app = App()

    @app.get("/first")
    async def first() -> str:
        return ""

    @app.get("/second", operation_id="first_get")
    async def second() -> str:
        return ""

    paths = openapi_schema(app)["paths"]
    assert paths["/second"]["get"]["operationId"] == "first_get"
    assert paths["/first"]["get"]["operationId"] == "first_get_2"


def test_explicit_head_is_documented() -> None:
    app = App()

    @app.route("/thing", methods=["GET", "HEAD"])
    async def thing() -> str:
        return ""

    assert list(openapi_schema(app)["paths"]["/thing"]) == ["get", "head"]


def test_security_scheme_on_a_bound_method_owner() -> None:
    class Bearer:
        scheme_name = "Bearer"
        openapi_security_scheme = {"type": "http", "scheme": "bearer"}

        def authenticate(self) -> str:
            return "user"

    bearer = Bearer()
    app = App()

    @app.get("/me")
    async def me(user: Annotated[str, Depends(bearer.authenticate)]) -> str:
        return user

    document = openapi_schema(app)
    assert document["components"]["securitySchemes"] == {
        "Bearer": {"type": "http", "scheme": "bearer"}
    }
    assert document["paths"]["/me"]["get"]["security"] == [{"Bearer": []}]


def test_undocumentable_types_become_any() -> None:
    class Opaque:
        pass

    app = App()

    @app.get("/opaque", response_model=Opaque)
    async def opaque() -> Any:
        return {}

    response = openapi_schema(app)["paths"]["/opaque"]["get"]["responses"]["200"]
    assert response["content"] == {"application/json": {"schema": {}}}


def test_component_names_are_made_valid() -> None:
    T = TypeVar("T")

    class Page(pydantic.BaseModel, Generic[T]):
        items: list[T]

    app = App()

    @app.get("/page")
    async def page() -> Page[int]:
        return Page[int](items=[])

    document = openapi_schema(app)
    validate(document)
    ref = document["paths"]["/page"]["get"]["responses"]["200"]["content"]["application/json"]
    name = ref["schema"]["$ref"].rsplit("/", 1)[1]
    assert name == "Page_int_"
    assert document["components"]["schemas"][name]["properties"]["items"]["items"] == {
        "type": "integer"
    }


def test_pydantic_models_and_their_defs_become_components() -> None:
    class Tag(pydantic.BaseModel):
        label: str = pydantic.Field(min_length=1)

    class Post(pydantic.BaseModel):
        title: str
        tags: list[Tag] = []

    app = App()

    @app.post("/posts")
    async def create(post: Post) -> Post:
        return post

    @app.get("/posts")
    async def posts(limit: Annotated[int, Query(le=10)] = 5) -> list[Post]:
        return []

    document = openapi_schema(app)
    validate(document)
    schemas = document["components"]["schemas"]
    body = document["paths"]["/posts"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/Post"}
    assert schemas["Post"]["properties"]["tags"]["items"] == {"$ref": "#/components/schemas/Tag"}
    assert schemas["Tag"]["properties"]["label"]["minLength"] == 1
    listed = document["paths"]["/posts"]["get"]["responses"]["200"]["content"]
    assert listed["application/json"]["schema"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Post"},
    }


def test_enum_types_are_added_only_when_all_values_agree() -> None:
    app = App()

    @app.get("/literal")
    async def literal(
        mode: Literal["a", "b"] = "a", level: Literal[1, 2] = 1, mixed: Literal["x", 1] = "x"
    ) -> str:
        return ""

    found = params(openapi_schema(app)["paths"]["/literal"]["get"])
    assert found["query:mode"]["schema"]["type"] == "string"
    assert found["query:level"]["schema"]["type"] == "integer"
    assert "type" not in found["query:mixed"]["schema"]


def test_required_query_lists_have_items_and_optional_form_fields_no_null() -> None:
    app = App()

    @app.post("/tagged")
    async def tagged(
        tags: Annotated[list[str], Query()],
        note: Annotated[str | None, Form(max_length=10)] = None,
    ) -> str:
        return ""

    document = openapi_schema(app)
    validate(document)
    operation = document["paths"]["/tagged"]["post"]
    assert params(operation)["query:tags"]["schema"] == {
        "type": "array",
        "items": {"type": "string"},
        "minItems": 1,
    }
    body = document["components"]["schemas"]["Body_tagged_post"]
    assert body["properties"]["note"] == {"type": "string", "maxLength": 10}
    assert "required" not in body or "note" not in body["required"]


class ErrorBody(msgspec.Struct):
    errors: dict[str, list[str]]


def test_errors_are_documented_as_the_apps_handler_answers_them() -> None:
    """An exception handler's return annotation is the documented body of the errors it
    answers: the document stays true when an app shapes its errors its own way."""
    app = App()

    async def shaped(request: Any, exc: Any) -> ErrorBody:
        return ErrorBody({"body": [str(exc.detail)]})

    async def teapot(request: Any, exc: Any) -> str:
        return "short and stout"

    app.add_exception_handler(HTTPException, shaped)
    app.add_exception_handler(418, teapot)

    @app.put("/items/{item_id:int}", responses={404: Problem, 409: "Taken", 418: "Tea"})
    async def put_item(item_id: int, item: ErrorBody) -> ErrorBody:
        return item

    doc = openapi_schema(app)
    validate(doc)
    answers = doc["paths"]["/items/{item_id}"]["put"]["responses"]
    shaped_body = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    for status in ("400", "404", "409", "413", "415", "422"):
        assert answers[status]["content"] == shaped_body, status
    assert answers["418"]["content"] == {"text/plain": {"schema": {"type": "string"}}}
    assert answers["409"]["description"] == "Taken"

    plain = App()

    @plain.get("/items/{item_id:int}")
    async def get_item(item_id: int) -> int:
        return item_id

    assert problem(openapi_schema(plain)["paths"]["/items/{item_id}"]["get"]["responses"]["404"])
