"""plait: the bench endpoints, written the way plait's docs teach."""

from operator import attrgetter
from pathlib import Path
from typing import Annotated

import msgspec
from benchdb import EXTRA_FORTUNE, AsyncDB, Fortune, query_count, random_id

from plait import App, EventSourceResponse, HTMLResponse, Query, Request, WebSocket
from plait.channels import Channels, MemoryBackend
from plait.templates import Templates

app = App()
db = AsyncDB()
templates = Templates(app, Path(__file__).parent / "templates")
channels = Channels(app, backend=MemoryBackend())


class Customer(msgspec.Struct):
    name: str
    email: str


class Item(msgspec.Struct):
    sku: str
    qty: Annotated[int, msgspec.Meta(ge=1)]
    price: float


class Order(msgspec.Struct):
    customer: Customer
    items: list[Item]
    note: str | None = None


class OrderSummary(msgspec.Struct):
    customer: str
    item_count: int
    total: float


@app.on_startup
async def open_db() -> None:
    await db.connect()


@app.on_shutdown
async def close_db() -> None:
    await db.close()


@app.get("/plaintext")
async def plaintext() -> str:
    return "Hello, World!"


@app.get("/json")
async def json() -> dict[str, str]:
    return {"message": "Hello, World!"}


@app.get("/items/{item_id}")
async def read_item(
    item_id: int, q: str | None = None, limit: Annotated[int, Query(ge=1, le=100)] = 10
) -> dict[str, object]:
    return {"item_id": item_id, "q": q, "limit": limit}


@app.post("/orders", status_code=201)
async def create_order(order: Order) -> OrderSummary:
    total = sum(item.qty * item.price for item in order.items)
    return OrderSummary(order.customer.name, len(order.items), round(total, 2))


@app.get("/db")
async def single_query() -> dict[str, int]:
    return await db.world(random_id())


@app.get("/queries")
async def queries(queries: str | None = None) -> list[dict[str, int]]:
    return await db.worlds(query_count(queries))


@app.get("/fortunes")
async def fortunes(request: Request) -> HTMLResponse:
    rows = await db.fortunes()
    rows.append(Fortune(0, EXTRA_FORTUNE))
    rows.sort(key=attrgetter("message"))
    return templates.render(request, "fortunes.html", {"fortunes": rows})


@app.post("/upload")
async def upload(request: Request) -> dict[str, int]:
    return {"size": len(await request.body())}


# --- real time: /ws/echo, /ws/json, /ws/room (a chat room), /sse/room + POST /sse/publish


@app.websocket("/ws/echo")
async def echo(ws: WebSocket) -> None:
    await ws.accept()
    async for text in ws.iter_text():
        await ws.send_text(text)


@app.websocket("/ws/json")
async def echo_json(ws: WebSocket) -> None:
    await ws.accept()
    async for doc in ws.iter_json():
        await ws.send_json(doc)


@app.websocket("/ws/room")
async def room(ws: WebSocket) -> None:
    await ws.accept()
    async with channels.attach(ws, "room"):
        async for text in ws.iter_text():
            await channels.publish("room", text)


@app.get("/sse/room")
async def sse_room() -> EventSourceResponse:
    return await channels.event_source("sse", ping=None)


@app.post("/sse/publish")
async def sse_publish(request: Request) -> str:
    await channels.publish("sse", await request.body())
    return "ok"
