"""Forms and files bound to typed parameters and to whole models; size limits.

No ``from __future__ import annotations``: some form models are defined inside the tests.
"""

import dataclasses
import hashlib
from typing import Annotated, Any

import msgspec
import pydantic
import pytest

from plait import App, File, Form, UploadFile
from plait.testing import TestClient


def locs(response: Any) -> list[list[Any]]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [error["loc"] for error in response.json()["errors"]]


class Login(msgspec.Struct):
    username: str
    password: Annotated[str, msgspec.Meta(min_length=8)]
    remember: bool = False
    scopes: list[str] = []


@dataclasses.dataclass
class Signup:
    email: str
    age: int = 18


class Contact(pydantic.BaseModel):
    name: str = pydantic.Field(min_length=2)
    topics: list[str] = []


def multipart(fields: dict[str, str]) -> dict[str, Any]:
    """Request options that send ``fields`` as multipart/form-data, not urlencoded."""
    return {"data": fields, "files": {"_": ("empty.txt", b"")}}


# ------------------------------------------------------------------ fields


@pytest.fixture(scope="module")
def client() -> Any:
    app = App()

    @app.post("/fields")
    async def fields(
        name: Annotated[str, Form(min_length=1)],
        age: Annotated[int, Form(ge=0)],
        tag: Annotated[list[str], Form()] = [],  # noqa: B006
        newsletter: Annotated[bool, Form()] = False,
        nick: Annotated[str | None, Form(alias="nick-name")] = None,
    ) -> dict[str, Any]:
        return {"name": name, "age": age, "tag": tag, "newsletter": newsletter, "nick": nick}

    @app.post("/login")
    async def login(form: Annotated[Login, Form()]) -> dict[str, Any]:
        assert isinstance(form, Login)
        return msgspec.to_builtins(form)  # type: ignore[no-any-return]

    @app.post("/signup")
    def signup(form: Annotated[Signup, Form()]) -> dict[str, Any]:
        assert isinstance(form, Signup)
        return dataclasses.asdict(form)

    @app.post("/contact")
    async def contact(form: Annotated[Contact, Form()]) -> dict[str, Any]:
        assert isinstance(form, Contact)
        return form.model_dump()

    with TestClient(app) as client:
        yield client


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_typed_form_fields(client: TestClient, encoding: str) -> None:
    fields = {"name": "Ada", "age": "36", "newsletter": "true", "nick-name": "countess"}
    options = {"data": fields} if encoding == "urlencoded" else multipart(fields)
    response = client.post("/fields", **options)
    assert response.json() == {
        "name": "Ada",
        "age": 36,
        "tag": [],
        "newsletter": True,
        "nick": "countess",
    }


def test_repeated_form_field_fills_a_list(client: TestClient) -> None:
    response = client.post("/fields", data={"name": "a", "age": "1", "tag": ["x", "y"]})
    assert response.json()["tag"] == ["x", "y"]


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_bad_form_fields_are_located_under_body(client: TestClient, encoding: str) -> None:
    fields = {"age": "-3", "newsletter": "perhaps"}
    options = {"data": fields} if encoding == "urlencoded" else multipart(fields)
    assert locs(client.post("/fields", **options)) == [
        ["body", "name"],
        ["body", "age"],
        ["body", "newsletter"],
    ]


def test_json_sent_to_a_form_route_is_415(client: TestClient) -> None:
    response = client.post("/fields", json={"name": "a", "age": 1})
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"


# ------------------------------------------------------------------ whole models


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_struct_built_from_the_form(client: TestClient, encoding: str) -> None:
    fields = {"username": "ada", "password": "correct horse", "remember": "true"}
    options = {"data": fields} if encoding == "urlencoded" else multipart(fields)
    response = client.post("/login", **options)
    assert response.json() == {
        "username": "ada",
        "password": "correct horse",
        "remember": True,
        "scopes": [],
    }


def test_list_field_of_a_model_takes_one_or_many_values(client: TestClient) -> None:
    base = {"username": "ada", "password": "correct horse"}
    one = client.post("/login", data={**base, "scopes": "read"})
    assert one.json()["scopes"] == ["read"]
    many = client.post("/login", data={**base, "scopes": ["read", "write"]})
    assert many.json()["scopes"] == ["read", "write"]


def test_every_invalid_model_field_is_reported(client: TestClient) -> None:
    response = client.post("/login", data={"password": "short", "remember": "perhaps"})
    errors = response.json()["errors"]
    assert locs(response) == [
        ["body", "username"],
        ["body", "password"],
        ["body", "remember"],
    ]
    assert errors[0]["type"] == "missing"
    assert "length >= 8" in errors[1]["msg"]


def test_dataclass_and_pydantic_form_models(client: TestClient) -> None:
    assert client.post("/signup", data={"email": "a@b.c"}).json() == {
        "email": "a@b.c",
        "age": 18,
    }
    assert client.post("/signup", data={"email": "a@b.c", "age": "40"}).json()["age"] == 40
    assert locs(client.post("/signup", data={"age": "old"})) == [
        ["body", "email"],
        ["body", "age"],
    ]
    assert client.post("/contact", data={"name": "Ada", "topics": "math"}).json() == {
        "name": "Ada",
        "topics": ["math"],
    }
    response = client.post("/contact", data={"name": "A"})
    assert locs(response) == [["body", "name"]]
    assert response.json()["errors"][0]["type"] == "string_too_short"


# ------------------------------------------------------------------ files


def test_upload_file_with_fields() -> None:
    app = App()

    @app.post("/upload")
    async def upload(
        document: UploadFile, title: Annotated[str, Form()] = "untitled"
    ) -> dict[str, Any]:
        content = await document.read()
        return {
            "filename": document.filename,
            "content_type": document.content_type,
            "content": content.decode(),
            "title": title,
        }

    with TestClient(app) as client:
        response = client.post(
            "/upload",
            files={"document": ("notes.txt", b"hello", "text/plain")},
            data={"title": "Notes"},
        )
        assert response.json() == {
            "filename": "notes.txt",
            "content_type": "text/plain",
            "content": "hello",
            "title": "Notes",
        }
        missing = client.post("/upload", files={"other": ("x.txt", b"x")})
        assert missing.json()["errors"] == [
            {"loc": ["body", "document"], "msg": "Field required", "type": "missing"}
        ]
        not_a_file = client.post("/upload", **multipart({"document": "just text"}))
        assert locs(not_a_file) == [["body", "document"]]
        assert not_a_file.json()["errors"][0]["msg"] == "Expected an uploaded file"


def test_uploads_of_a_typed_handler_are_closed_after_the_response() -> None:
    app = App()
    seen: list[UploadFile] = []

    @app.post("/upload")
    async def upload(document: UploadFile) -> dict[str, int]:
        seen.append(document)
        return {"size": len(await document.read())}

    with TestClient(app) as client:
        response = client.post("/upload", files={"document": ("a.txt", b"hello")})
    assert response.json() == {"size": 5}
    assert seen[0].file.closed


def test_file_sent_where_a_field_is_expected() -> None:
    app = App()

    @app.post("/field")
    async def field(title: Annotated[str, Form()]) -> str:
        return title

    with TestClient(app) as client:
        response = client.post("/field", files={"title": ("t.txt", b"x")})
        assert locs(response) == [["body", "title"]]
        assert response.json()["errors"][0]["msg"] == "Expected a form field, got a file"


def test_multiple_files() -> None:
    app = App()

    @app.post("/gallery")
    async def gallery(
        photos: list[UploadFile], raw: Annotated[list[bytes], File()]
    ) -> dict[str, Any]:
        return {
            "photos": [[p.filename, (await p.read()).decode()] for p in photos],
            "raw": [r.decode() for r in raw],
        }

    with TestClient(app) as client:
        response = client.post(
            "/gallery",
            files=[
                ("photos", ("a.jpg", b"AAA", "image/jpeg")),
                ("photos", ("b.jpg", b"BBB", "image/jpeg")),
                ("raw", ("one.bin", b"1")),
                ("raw", ("two.bin", b"2")),
            ],
        )
        assert response.json() == {
            "photos": [["a.jpg", "AAA"], ["b.jpg", "BBB"]],
            "raw": ["1", "2"],
        }


def test_file_as_bytes_and_optional_file() -> None:
    app = App()

    @app.post("/avatar")
    async def avatar(
        image: Annotated[bytes, File()], thumbnail: UploadFile | None = None
    ) -> list[Any]:
        return [image.decode(), thumbnail.filename if thumbnail else None]

    with TestClient(app) as client:
        assert client.post("/avatar", files={"image": ("i.png", b"PNG")}).json() == ["PNG", None]
        response = client.post(
            "/avatar", files={"image": ("i.png", b"PNG"), "thumbnail": ("t.png", b"T")}
        )
        assert response.json() == ["PNG", "t.png"]


def test_large_upload_is_spooled_and_read_back_intact() -> None:
    app = App(max_body_size=8 * 1024 * 1024)
    payload = bytes(range(256)) * (12 * 1024)  # 3 MiB: past the in-memory spool size

    @app.post("/big")
    async def big(blob: UploadFile) -> dict[str, Any]:
        digest = hashlib.sha256()
        while chunk := await blob.read(64 * 1024):
            digest.update(chunk)
        return {"size": blob.size, "in_memory": blob.in_memory, "sha256": digest.hexdigest()}

    with TestClient(app) as client:
        response = client.post("/big", files={"blob": ("big.bin", payload)})
        assert response.json() == {
            "size": len(payload),
            "in_memory": False,
            "sha256": hashlib.sha256(payload).hexdigest(),
        }


# ------------------------------------------------------------------ limits


def test_body_size_limit_is_413_for_forms_and_files() -> None:
    app = App(max_body_size=1024)

    @app.post("/form")
    async def form(note: Annotated[str, Form()]) -> int:
        return len(note)

    @app.post("/file")
    async def file(upload: UploadFile) -> int:
        return upload.size

    with TestClient(app) as client:
        assert client.post("/form", data={"note": "x" * 100}).json() == 100
        too_big = client.post("/form", data={"note": "x" * 2000})
        assert too_big.status_code == 413
        assert too_big.headers["content-type"] == "application/problem+json"
        assert client.post("/file", files={"upload": ("a", b"x" * 100)}).json() == 100
        assert client.post("/file", files={"upload": ("a", b"x" * 5000)}).status_code == 413


def test_body_size_limit_is_413_for_json_too() -> None:
    app = App(max_body_size=64)

    class Note(msgspec.Struct):
        text: str

    @app.post("/note")
    async def note(n: Note) -> int:
        return len(n.text)

    with TestClient(app) as client:
        assert client.post("/note", json={"text": "short"}).json() == 5
        assert client.post("/note", json={"text": "x" * 100}).status_code == 413
