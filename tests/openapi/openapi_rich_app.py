"""A rich app for the OpenAPI tests: every kind of parameter, body, response and security."""

from __future__ import annotations

import dataclasses
import enum
from typing import Annotated, Any, TypedDict

import msgspec
from msgspec import Meta

from plait import (
    App,
    Body,
    Cookie,
    Depends,
    File,
    Form,
    Header,
    HTTPException,
    Query,
    Request,
    Router,
    Security,
    UploadFile,
)
from plait.openapi import Problem


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Address(msgspec.Struct):
    street: str
    city: Annotated[str, Meta(min_length=1)]


class UserIn(msgspec.Struct):
    """A user to create."""

    name: Annotated[str, Meta(min_length=1, max_length=50)]
    age: Annotated[int, Meta(ge=0, le=150)]
    addresses: list[Address] = []
    favourite: Color | None = None


class UserOut(msgspec.Struct):
    id: int
    name: str
    addresses: list[Address]


@dataclasses.dataclass
class Note:
    text: str


class Stats(TypedDict):
    count: int


class Conflict(Problem, kw_only=True):
    """A problem with the id of the existing user."""

    existing_id: int


class ApiKey:
    """Security test double: what the auth battery's schemes will look like."""

    scheme_name = "ApiKey"
    openapi_security_scheme = {"type": "apiKey", "in": "header", "name": "X-API-Key"}

    def __call__(self, request: Request) -> str:
        key: str | None = request.headers.get("x-api-key")
        if key is None or key != "secret":
            raise HTTPException(401, "Bad API key")
        return key


class OAuth2:
    scheme_name = "OAuth2"
    openapi_security_scheme = {
        "type": "oauth2",
        "flows": {
            "clientCredentials": {
                "tokenUrl": "/token",
                "scopes": {"users:read": "Read users", "users:write": "Change users"},
            }
        },
    }

    async def __call__(self, request: Request) -> str:
        return "token"


api_key = ApiKey()
oauth2 = OAuth2()


def paging(page: Annotated[int, Query(ge=1, description="Page number.")] = 1) -> int:
    return page


def current_user(token: Annotated[str, Security(oauth2, scopes=["users:read"])]) -> str:
    return token


app = App(
    title="Rich",
    version="2.0",
    description="Everything the generator documents.",
    openapi_tags=[{"name": "users", "description": "People."}],
    servers=[{"url": "https://api.example.com"}],
)


@app.get("/users/{user_id:int}", tags=["users"], responses={404: Problem})
async def get_user(
    user_id: int,
    user: Annotated[str, Depends(current_user)],
    verbose: bool = False,
    fields: list[str] = [],  # noqa: B006 - plait copies mutable defaults per request
    q: Annotated[str, Query(examples=["alice"], max_length=20)] = "",
    old: Annotated[int | None, Query(deprecated=True)] = None,
    internal: Annotated[str | None, Query(include_in_schema=False)] = None,
    request_id: Annotated[str | None, Header(alias="X-Request-ID", description="Trace id.")] = None,
    session: Annotated[str | None, Cookie()] = None,
) -> UserOut:
    """Get one user.

    With the addresses.\f
    Not for the docs.
    """
    return UserOut(user_id, "x", [])


@app.post(
    "/users",
    status_code=201,
    tags=["users"],
    responses={409: Conflict, 200: {"description": "Never happens"}},
)
async def create_user(user: UserIn, key: Annotated[str, Security(api_key)]) -> UserOut:
    return UserOut(1, user.name, user.addresses)


@app.put("/users/{user_id:int}/note", operation_id="set-note")
async def set_note(
    user_id: int,
    note: Annotated[Note, Body(embed=True)],
    pinned: Annotated[bool, Body(embed=True)] = False,
) -> Note:
    return note


@app.delete("/users/{user_id:int}", dependencies=[Depends(paging)])
async def delete_user(user_id: int) -> None:
    return None


@app.post("/upload")
async def upload(
    title: Annotated[str, Form(max_length=50)],
    files: Annotated[list[UploadFile], File()],
    cover: Annotated[UploadFile | None, File()] = None,
) -> dict[str, int]:
    return {"files": len(files)}


@app.post("/login")
async def login(
    username: Annotated[str, Form()], password: Annotated[str, Form(min_length=8)]
) -> str:
    return "ok"


@app.get("/stats", deprecated=True, summary="Statistics", description="Counts.")
async def stats() -> Stats:
    return {"count": 1}


@app.get("/colors/{color}")
async def colors(color: Color) -> list[Color]:
    return [color]


@app.get("/hidden", include_in_schema=False)
async def hidden() -> str:
    return "hidden"


@app.get("/raw")
async def raw():  # type: ignore[no-untyped-def]
    return "anything"


@app.route("/multi", methods=["GET", "POST"])
async def multi() -> Any:
    return {}


def _versioned(prefix: str) -> Router:
    router = Router(prefix=prefix)

    @router.get("/ping")
    async def ping() -> str:
        return "pong"

    return router


app.include_router(_versioned("/v1"))
app.include_router(_versioned("/v2"))
