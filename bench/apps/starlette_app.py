"""Starlette: the bench endpoints, hand-validated with msgspec the way Starlette's docs leave it to you."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from operator import attrgetter
from pathlib import Path
from typing import Annotated

import msgspec
from benchdb import EXTRA_FORTUNE, AsyncDB, Fortune, query_count, random_id
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.templating import Jinja2Templates
from starlette.websockets import WebSocket, WebSocketDisconnect

db = AsyncDB()
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


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


async def plaintext(request: Request) -> Response:
    return PlainTextResponse("Hello, World!")


async def json(request: Request) -> Response:
    return JSONResponse({"message": "Hello, World!"})


async def read_item(request: Request) -> Response:
    try:
        limit = int(request.query_params.get("limit", 10))
    except ValueError:
        return JSONResponse({"detail": "limit must be an integer"}, status_code=422)
    if not 1 <= limit <= 100:
        return JSONResponse({"detail": "limit must be between 1 and 100"}, status_code=422)
    item_id = request.path_params["item_id"]
    return JSONResponse({"item_id": item_id, "q": request.query_params.get("q"), "limit": limit})


async def create_order(request: Request) -> Response:
    try:
        order = msgspec.json.decode(await request.body(), type=Order)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        return JSONResponse({"detail": str(exc)}, status_code=422)
    total = sum(item.qty * item.price for item in order.items)
    summary = {
        "customer": order.customer.name,
        "item_count": len(order.items),
        "total": round(total, 2),
    }
    return JSONResponse(summary, status_code=201)


async def single_query(request: Request) -> Response:
    return JSONResponse(await db.world(random_id()))


async def queries(request: Request) -> Response:
    return JSONResponse(await db.worlds(query_count(request.query_params.get("queries"))))


async def fortunes(request: Request) -> Response:
    rows = await db.fortunes()
    rows.append(Fortune(0, EXTRA_FORTUNE))
    rows.sort(key=attrgetter("message"))
    return templates.TemplateResponse(request, "fortunes.html", {"fortunes": rows})


async def upload(request: Request) -> Response:
    return JSONResponse({"size": len(await request.body())})


# --- real time: /ws/echo, /ws/json, /ws/room (a chat room), /sse/room + POST /sse/publish
# Starlette has no pub/sub of its own: a set of members, as its docs' chat examples keep.

room: set[WebSocket] = set()
listeners: set[asyncio.Queue[str]] = set()


async def ws_echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass


async def ws_json(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            await websocket.send_json(await websocket.receive_json())
    except WebSocketDisconnect:
        pass


async def ws_room(websocket: WebSocket) -> None:
    await websocket.accept()
    room.add(websocket)
    try:
        while True:
            text = await websocket.receive_text()
            for member in list(room):
                await member.send_text(text)
    except WebSocketDisconnect:
        pass
    finally:
        room.discard(websocket)


async def sse_room(request: Request) -> Response:
    queue: asyncio.Queue[str] = asyncio.Queue()
    listeners.add(queue)

    async def events() -> AsyncIterator[str]:
        try:
            while True:
                yield f"data: {await queue.get()}\n\n"
        finally:
            listeners.discard(queue)

    return StreamingResponse(events(), media_type="text/event-stream")


async def sse_publish(request: Request) -> Response:
    text = (await request.body()).decode()
    for queue in listeners:
        queue.put_nowait(text)
    return PlainTextResponse("ok")


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    await db.connect()
    yield
    await db.close()


app = Starlette(
    routes=[
        Route("/plaintext", plaintext),
        Route("/json", json),
        Route("/items/{item_id:int}", read_item),
        Route("/orders", create_order, methods=["POST"]),
        Route("/db", single_query),
        Route("/queries", queries),
        Route("/fortunes", fortunes),
        Route("/upload", upload, methods=["POST"]),
        WebSocketRoute("/ws/echo", ws_echo),
        WebSocketRoute("/ws/json", ws_json),
        WebSocketRoute("/ws/room", ws_room),
        Route("/sse/room", sse_room),
        Route("/sse/publish", sse_publish, methods=["POST"]),
    ],
    lifespan=lifespan,
)
