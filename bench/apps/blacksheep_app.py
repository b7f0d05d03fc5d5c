"""BlackSheep: the bench endpoints, written the way BlackSheep's docs teach (Pydantic models)."""

import asyncio
import os
from collections.abc import AsyncIterable
from operator import attrgetter
from pathlib import Path

# BlackSheep looks templates up as "<name>.jinja"; the suite shares one "fortunes.html".
os.environ.setdefault("APP_JINJA_EXTENSION", ".html")

from benchdb import EXTRA_FORTUNE, AsyncDB, Fortune, query_count, random_id
from blacksheep import (
    Application,
    FromJSON,
    Request,
    WebSocket,
    WebSocketDisconnectError,
    bad_request,
    get,
    json,
    post,
    text,
    ws,
)
from blacksheep.server.rendering.jinja2 import JinjaRenderer
from blacksheep.server.responses import view
from blacksheep.server.sse import ServerSentEvent, TextServerSentEvent
from blacksheep.settings.html import html_settings
from jinja2 import FileSystemLoader
from pydantic import BaseModel, Field

app = Application()
html_settings.use(JinjaRenderer(FileSystemLoader(Path(__file__).parent / "templates")))
db = AsyncDB()


@app.on_start
async def open_db(application: Application) -> None:
    await db.connect()


@app.on_stop
async def close_db(application: Application) -> None:
    await db.close()


class Customer(BaseModel):
    name: str
    email: str


class Item(BaseModel):
    sku: str
    qty: int = Field(ge=1)
    price: float


class Order(BaseModel):
    customer: Customer
    items: list[Item]
    note: str | None = None


@get("/plaintext")
async def plaintext():
    return text("Hello, World!")


@get("/json")
async def json_():
    return json({"message": "Hello, World!"})


@get("/items/{item_id}")
async def read_item(item_id: int, q: str | None = None, limit: int = 10):
    if not 1 <= limit <= 100:
        return bad_request("limit must be between 1 and 100")
    return json({"item_id": item_id, "q": q, "limit": limit})


@post("/orders")
async def create_order(data: FromJSON[Order]):
    order = data.value
    total = sum(item.qty * item.price for item in order.items)
    summary = {
        "customer": order.customer.name,
        "item_count": len(order.items),
        "total": round(total, 2),
    }
    return json(summary, status=201)


@get("/db")
async def single_query():
    return json(await db.world(random_id()))


@get("/queries")
async def queries(queries: str | None = None):
    return json(await db.worlds(query_count(queries)))


@get("/fortunes")
async def fortunes():
    rows = await db.fortunes()
    rows.append(Fortune(0, EXTRA_FORTUNE))
    rows.sort(key=attrgetter("message"))
    return view("fortunes", {"fortunes": rows})


@post("/upload")
async def upload(request: Request):
    return json({"size": len(await request.read())})


# --- real time: /ws/echo, /ws/json, /ws/room (a chat room), /sse/room + POST /sse/publish
# BlackSheep has no pub/sub of its own: a set of members.

room: set[WebSocket] = set()
listeners: set[asyncio.Queue[str]] = set()


@ws("/ws/echo")
async def ws_echo(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnectError:
        pass


@ws("/ws/json")
async def ws_json(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            await websocket.send_json(await websocket.receive_json())
    except WebSocketDisconnectError:
        pass


@ws("/ws/room")
async def ws_room(websocket: WebSocket):
    await websocket.accept()
    room.add(websocket)
    try:
        while True:
            message = await websocket.receive_text()
            for member in list(room):
                await member.send_text(message)
    except WebSocketDisconnectError:
        pass
    finally:
        room.discard(websocket)


@get("/sse/room")
async def sse_room() -> AsyncIterable[ServerSentEvent]:
    queue: asyncio.Queue[str] = asyncio.Queue()
    listeners.add(queue)
    try:
        while True:
            yield TextServerSentEvent(await queue.get())
    finally:
        listeners.discard(queue)


@post("/sse/publish")
async def sse_publish(request: Request):
    message = (await request.read() or b"").decode()
    for queue in listeners:
        queue.put_nowait(message)
    return text("ok")
