"""FastAPI: the bench endpoints, written the way FastAPI's docs teach (Pydantic models)."""

import asyncio
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager
from operator import attrgetter
from pathlib import Path
from typing import Annotated

from benchdb import EXTRA_FORTUNE, AsyncDB, Fortune, query_count, random_id
from fastapi import FastAPI, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, PlainTextResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

db = AsyncDB()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await db.connect()
    yield
    await db.close()


app = FastAPI(lifespan=lifespan)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


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


class OrderSummary(BaseModel):
    customer: str
    item_count: int
    total: float


@app.get("/plaintext", response_class=PlainTextResponse)
async def plaintext() -> str:
    return "Hello, World!"


@app.get("/json")
async def json() -> dict[str, str]:
    return {"message": "Hello, World!"}


@app.get("/items/{item_id}")
async def read_item(
    item_id: int, q: str | None = None, limit: Annotated[int, Query(ge=1, le=100)] = 10
) -> dict[str, int | str | None]:
    return {"item_id": item_id, "q": q, "limit": limit}


@app.post("/orders", status_code=201)
async def create_order(order: Order) -> OrderSummary:
    total = sum(item.qty * item.price for item in order.items)
    return OrderSummary(
        customer=order.customer.name, item_count=len(order.items), total=round(total, 2)
    )


@app.get("/db")
async def single_query() -> dict[str, int]:
    return await db.world(random_id())


@app.get("/queries")
async def queries(queries: str | None = None) -> list[dict[str, int]]:
    return await db.worlds(query_count(queries))


@app.get("/fortunes", response_class=HTMLResponse)
async def fortunes(request: Request) -> HTMLResponse:
    rows = await db.fortunes()
    rows.append(Fortune(0, EXTRA_FORTUNE))
    rows.sort(key=attrgetter("message"))
    return templates.TemplateResponse(request, "fortunes.html", {"fortunes": rows})


@app.post("/upload")
async def upload(request: Request) -> dict[str, int]:
    return {"size": len(await request.body())}


# --- real time: /ws/echo, /ws/json, /ws/room (a chat room), /sse/room + POST /sse/publish
# The room is the ConnectionManager of FastAPI's WebSockets tutorial.


class ConnectionManager:
    def __init__(self) -> None:
        self.active_connections: list[WebSocket] = []

    async def connect(self, websocket: WebSocket) -> None:
        await websocket.accept()
        self.active_connections.append(websocket)

    def disconnect(self, websocket: WebSocket) -> None:
        self.active_connections.remove(websocket)

    async def broadcast(self, message: str) -> None:
        for connection in self.active_connections:
            await connection.send_text(message)


manager = ConnectionManager()
listeners: set[asyncio.Queue[str]] = set()


@app.websocket("/ws/echo")
async def ws_echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass


@app.websocket("/ws/json")
async def ws_json(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            await websocket.send_json(await websocket.receive_json())
    except WebSocketDisconnect:
        pass


@app.websocket("/ws/room")
async def ws_room(websocket: WebSocket) -> None:
    await manager.connect(websocket)
    try:
        while True:
            await manager.broadcast(await websocket.receive_text())
    except WebSocketDisconnect:
        manager.disconnect(websocket)


@app.get("/sse/room", response_class=EventSourceResponse)
async def sse_room() -> AsyncIterable[ServerSentEvent]:
    queue: asyncio.Queue[str] = asyncio.Queue()
    listeners.add(queue)
    try:
        while True:
            yield ServerSentEvent(raw_data=await queue.get())
    finally:
        listeners.discard(queue)


@app.post("/sse/publish", response_class=PlainTextResponse)
async def sse_publish(request: Request) -> str:
    text = (await request.body()).decode()
    for queue in listeners:
        queue.put_nowait(text)
    return "ok"
