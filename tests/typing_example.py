"""A typed plait app that ``mypy --strict`` must accept (see ``test_typing_example.py``).

It uses the typed API the way an application does: markers in ``Annotated``, dependencies
of every kind, injected objects, output types, routers and overrides. ``assert_type`` lines
check that the route decorators keep the handlers' own types.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any, Literal, assert_type

import msgspec
import pydantic

from plait import (
    App,
    BackgroundTasks,
    Body,
    Cookie,
    Depends,
    File,
    Form,
    Header,
    HTTPException,
    Path,
    Query,
    Request,
    Response,
    Router,
    Security,
    UploadFile,
    WebSocket,
)
from plait.testing import TestClient

__all__ = ["app", "exercise"]


class ItemIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1)]
    price: Annotated[float, msgspec.Meta(gt=0)]
    tags: list[str] = []


class ItemOut(msgspec.Struct):
    id: uuid.UUID
    name: str
    price: float
    tags: list[str]


class UserOut(pydantic.BaseModel):
    name: str


@dataclasses.dataclass
class StoredUser:
    name: str
    password_hash: str


@dataclasses.dataclass
class Pagination:
    offset: int
    limit: int


class Login(msgspec.Struct):
    username: str
    password: str


class Session:
    """Stands for a database session."""

    def __init__(self) -> None:
        self.items: dict[uuid.UUID, ItemOut] = {}
        self.closed = False

    def close(self) -> None:
        self.closed = True


STORE = Session()


async def db_session() -> AsyncIterator[Session]:
    try:
        yield STORE
    finally:
        pass


def audit_log() -> Iterator[list[str]]:
    lines: list[str] = []
    yield lines


def pagination(
    offset: Annotated[int, Query(ge=0)] = 0, limit: Annotated[int, Query(ge=1, le=100)] = 10
) -> Pagination:
    return Pagination(offset, limit)


class CurrentUser:
    def __init__(self, authorization: Annotated[str | None, Header()] = None) -> None:
        if authorization is None:
            raise HTTPException(401, "Not authenticated", headers={"WWW-Authenticate": "Bearer"})
        self.name = authorization.removeprefix("Bearer ")


def require_scope(user: Annotated[CurrentUser, Depends()]) -> CurrentUser:
    return user


app = App(title="Shop", version="1.0")
api = Router(prefix="/api", tags=["items"], dependencies=[Depends(audit_log)])


@api.get("/items/{item_id}")
async def get_item(
    item_id: uuid.UUID,
    session: Annotated[Session, Depends(db_session)],
    q: str | None = None,
    sort: Literal["asc", "desc"] = "asc",
    user_agent: Annotated[str | None, Header()] = None,
) -> ItemOut:
    item = session.items.get(item_id)
    if item is None:
        raise HTTPException(404, f"No item {item_id}")
    return item


@api.get("/items")
async def list_items(
    page: Annotated[Pagination, Depends(pagination)],
    session: Annotated[Session, Depends(db_session)],
    tag: list[str] | None = None,
) -> list[ItemOut]:
    items = list(session.items.values())
    if tag:
        items = [i for i in items if set(tag) & set(i.tags)]
    return items[page.offset : page.offset + page.limit]


@api.post("/items", status_code=201, responses={409: {"description": "Duplicate name"}})
async def create_item(
    item: ItemIn,
    session: Annotated[Session, Depends(db_session)],
    tasks: BackgroundTasks,
    log: Annotated[list[str], Depends(audit_log)],
) -> ItemOut:
    if any(i.name == item.name for i in session.items.values()):
        raise HTTPException(409, "Duplicate name")
    out = ItemOut(uuid.uuid4(), item.name, item.price, item.tags)
    session.items[out.id] = out
    tasks.add_task(log.append, f"created {out.id}")
    return out


@api.patch("/items/{item_id}/price")
def set_price(
    item_id: Annotated[uuid.UUID, Path(description="The item")],
    price: Annotated[float, Body(gt=0, embed=True)],
    session: Annotated[Session, Depends(db_session)],
) -> ItemOut:
    item = session.items[item_id]
    item.price = price
    return item


@app.get("/me", response_model=UserOut)
async def me(
    user: Annotated[CurrentUser, Security(require_scope, scopes=["me"])],
    theme: Annotated[str, Cookie()] = "light",
) -> StoredUser:
    return StoredUser(user.name, "never sent")


@app.post("/login")
async def login(form: Annotated[Login, Form()], response: Response) -> dict[str, str]:
    response.set_cookie("session", form.username)
    return {"user": form.username}


@app.post("/avatar")
async def avatar(
    image: UploadFile,
    thumbnails: Annotated[list[bytes], File()],
    caption: Annotated[str, Form(max_length=80)] = "",
) -> dict[str, Any]:
    data = await image.read()
    return {"size": len(data), "thumbnails": len(thumbnails), "caption": caption}


@app.get("/whoami")
def whoami(request: Request) -> str:
    return request.url.path


@app.websocket("/ws/{room}")
async def room(websocket: WebSocket, room: str, nick: str = "anon") -> None:
    await websocket.accept()
    await websocket.send_text(f"{nick} joined {room}")
    await websocket.close()


app.include_router(api)


async def _decorators_keep_handler_types(request: Request) -> None:
    """Never called: mypy checks that the decorated handlers kept their own types."""
    assert_type(whoami(request), str)
    assert_type(await list_items(Pagination(0, 10), STORE), list[ItemOut])
    assert_type(await get_item(uuid.uuid4(), STORE), ItemOut)
    assert_type(set_price(uuid.uuid4(), 1.0, STORE), ItemOut)


async def _the_session_is_typed(request: Request) -> None:
    """Never called: ``request.session`` has the sessions battery's methods, no isinstance."""
    request.session.cycle_key()
    request.session["user"] = "ada"
    assert_type(request.session.get("user"), Any)
    assert_type(request.session.modified, bool)
    request.session.flush()


def exercise() -> list[int]:
    """Drive the app with the test client, overriding the database for the duration."""
    test_store = Session()

    async def test_session() -> AsyncIterator[Session]:
        yield test_store

    app.dependency_overrides[db_session] = test_session
    statuses: list[int] = []
    try:
        with TestClient(app) as client:
            created = client.post("/api/items", json={"name": "hat", "price": 9.5})
            statuses.append(created.status_code)
            item_id: str = created.json()["id"]
            statuses.append(client.get(f"/api/items/{item_id}").status_code)
            statuses.append(client.get("/api/items?limit=500").status_code)
            statuses.append(client.get("/me").status_code)
            statuses.append(client.get("/me", headers={"authorization": "Bearer ada"}).status_code)
    finally:
        app.dependency_overrides.clear()
    return statuses
