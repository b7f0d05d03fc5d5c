"""Litestar: the bench endpoints, written the way Litestar's docs teach (msgspec Structs)."""

from collections.abc import AsyncIterator
from operator import attrgetter
from pathlib import Path
from typing import Annotated

import msgspec
from benchdb import EXTRA_FORTUNE, AsyncDB, Fortune, query_count, random_id
from litestar import (
    Litestar,
    MediaType,
    Request,
    WebSocket,
    get,
    post,
    websocket,
    websocket_listener,
)
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.exceptions import WebSocketDisconnect
from litestar.params import Parameter
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import ServerSentEvent, Template
from litestar.template.config import TemplateConfig

db = AsyncDB()


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


@get("/plaintext", media_type=MediaType.TEXT)
async def plaintext() -> str:
    return "Hello, World!"


@get("/json")
async def json() -> dict[str, str]:
    return {"message": "Hello, World!"}


@get("/items/{item_id:int}")
async def read_item(
    item_id: int, q: str | None = None, limit: Annotated[int, Parameter(ge=1, le=100)] = 10
) -> dict[str, int | str | None]:
    return {"item_id": item_id, "q": q, "limit": limit}


@post("/orders")
async def create_order(data: Order) -> OrderSummary:
    total = sum(item.qty * item.price for item in data.items)
    return OrderSummary(data.customer.name, len(data.items), round(total, 2))


@get("/db")
async def single_query() -> dict[str, int]:
    return await db.world(random_id())


@get("/queries")
async def queries(queries: str | None = None) -> list[dict[str, int]]:
    return await db.worlds(query_count(queries))


@get("/fortunes")
async def fortunes() -> Template:
    rows = await db.fortunes()
    rows.append(Fortune(0, EXTRA_FORTUNE))
    rows.sort(key=attrgetter("message"))
    return Template(template_name="fortunes.html", context={"fortunes": rows})


@post("/upload", status_code=200)
async def upload(request: Request) -> dict[str, int]:
    return {"size": len(await request.body())}


# --- real time: /ws/echo, /ws/json, /ws/room (a chat room), /sse/room + POST /sse/publish
# Litestar's docs: websocket_listener for echo, the channels plugin for the room and the stream.


@websocket_listener("/ws/echo")
async def ws_echo(data: str) -> str:
    return data


@websocket_listener("/ws/json")
async def ws_json(data: dict[str, object]) -> dict[str, object]:
    return data


@websocket("/ws/room")
async def ws_room(socket: WebSocket, channels: ChannelsPlugin) -> None:
    await socket.accept()
    async with (
        channels.start_subscription(["room"]) as subscriber,
        subscriber.run_in_background(socket.send_data),
    ):
        try:
            while True:
                channels.publish(await socket.receive_text(), channels=["room"])
        except WebSocketDisconnect:
            pass


@get("/sse/room")
async def sse_room(channels: ChannelsPlugin) -> ServerSentEvent:
    async def events() -> AsyncIterator[str]:
        async with channels.start_subscription(["sse"]) as subscriber:
            async for message in subscriber.iter_events():
                yield message.decode()

    return ServerSentEvent(events())


@post("/sse/publish", media_type=MediaType.TEXT, status_code=200)
async def sse_publish(request: Request, channels: ChannelsPlugin) -> str:
    channels.publish(await request.body(), channels=["sse"])
    return "ok"


app = Litestar(
    route_handlers=[
        ws_echo,
        ws_json,
        ws_room,
        sse_room,
        sse_publish,
        plaintext,
        json,
        read_item,
        create_order,
        single_query,
        queries,
        fortunes,
        upload,
    ],
    plugins=[ChannelsPlugin(backend=MemoryChannelsBackend(), channels=["room", "sse"])],
    on_startup=[db.connect],
    on_shutdown=[db.close],
    template_config=TemplateConfig(
        directory=Path(__file__).parent / "templates", engine=JinjaTemplateEngine
    ),
)
