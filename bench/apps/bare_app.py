"""The ceiling: one bare ASGI function and no framework.

An if-chain on the path, msgspec for JSON in and out, two ``send()`` calls per response, and
every constant byte string built once at import. Whatever a framework adds shows as the
distance from this app on the same server.
"""

from __future__ import annotations

import asyncio
import contextlib
from operator import attrgetter
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote_plus

import jinja2
import msgspec
from benchdb import EXTRA_FORTUNE, AsyncDB, Fortune, query_count, random_city, random_id


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


class WorldCreate(msgspec.Struct):
    randomNumber: Annotated[int, msgspec.Meta(ge=-(2**31), lt=2**31)]  # an SQL integer


encode = msgspec.json.encode
decode_order = msgspec.json.Decoder(Order).decode
decode_world = msgspec.json.Decoder(WorldCreate).decode
template = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True
).get_template("fortunes.html")
by_message = attrgetter("message")
db = AsyncDB()

TEXT = b"text/plain; charset=utf-8"
JSON = b"application/json"
HTML = b"text/html; charset=utf-8"


def start(status: int, content_type: bytes, body: bytes) -> dict[str, Any]:
    return {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", content_type), (b"content-length", b"%d" % len(body))],
    }


PLAINTEXT_BODY = {"type": "http.response.body", "body": b"Hello, World!"}
PLAINTEXT_START = start(200, TEXT, PLAINTEXT_BODY["body"])
JSON_BODY = {"type": "http.response.body", "body": encode({"message": "Hello, World!"})}
JSON_START = start(200, JSON, JSON_BODY["body"])
NOT_FOUND = b'{"detail":"Not Found"}'


def queries_param(query_string: bytes) -> int:
    raw = None
    for pair in query_string.split(b"&"):
        key, _, value = pair.partition(b"=")
        if key == b"queries":
            raw = value.decode("latin-1")
    return query_count(raw)


async def read_body(receive: Any) -> bytes:
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        return body
    chunks = [body]
    while message.get("more_body", False):
        message = await receive()
        chunks.append(message.get("body", b""))
    return b"".join(chunks)


def item_response(raw_id: str, query_string: bytes) -> tuple[int, bytes]:
    try:
        item_id = int(raw_id)
    except ValueError:
        return 422, b'{"detail":"item_id must be an integer"}'
    q = None
    limit = 10
    if query_string:
        for pair in query_string.split(b"&"):
            key, _, value = pair.partition(b"=")
            if key == b"q":
                q = unquote_plus(value.decode("latin-1"))
            elif key == b"limit":
                try:
                    limit = int(value)
                except ValueError:
                    return 422, b'{"detail":"limit must be an integer"}'
                if not 1 <= limit <= 100:
                    return 422, b'{"detail":"limit must be between 1 and 100"}'
    return 200, encode({"item_id": item_id, "q": q, "limit": limit})


async def lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await db.connect()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await db.close()
            await send({"type": "lifespan.shutdown.complete"})
            return


# --- real time: /ws/echo, /ws/json, /ws/room (a chat room), /sse/room + POST /sse/publish

decode_json = msgspec.json.decode
ACCEPT = {"type": "websocket.accept"}
ROOM: set[Any] = set()  # the send() of every member of /ws/room
LISTENERS: set[asyncio.Queue[bytes | None]] = set()  # one queue per /sse/room stream
SSE_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")],
}


async def websocket(scope: Any, receive: Any, send: Any) -> None:
    await receive()  # websocket.connect
    path = scope["path"]
    if path not in ("/ws/echo", "/ws/json", "/ws/room"):
        await send({"type": "websocket.close", "code": 1000})
        return
    await send(ACCEPT)
    if path == "/ws/room":
        ROOM.add(send)
    try:
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            if path == "/ws/echo":
                text = message.get("text")
                out = {"type": "websocket.send", "text": text, "bytes": message.get("bytes")}
                await send(out)
            elif path == "/ws/json":
                doc = decode_json(message.get("text") or message.get("bytes"))
                await send({"type": "websocket.send", "text": encode(doc).decode()})
            else:
                out = {"type": "websocket.send", "text": message["text"]}  # built once
                for member in tuple(ROOM):
                    with contextlib.suppress(Exception):  # a member that just left
                        await member(out)
    finally:
        ROOM.discard(send)


async def sse_room(receive: Any, send: Any) -> None:
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        queue.put_nowait(None)

    watcher = asyncio.create_task(watch())
    LISTENERS.add(queue)
    try:
        await send(SSE_START)
        while (event := await queue.get()) is not None:
            await send({"type": "http.response.body", "body": event, "more_body": True})
    finally:
        LISTENERS.discard(queue)
        watcher.cancel()


def sse_publish(body: bytes) -> bytes:
    event = b"data: " + body + b"\n\n"  # built once for every listener
    for queue in LISTENERS:
        queue.put_nowait(event)
    return b"ok"


async def app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
        elif scope["type"] == "websocket":
            await websocket(scope, receive, send)
        return
    path = scope["path"]
    content_type = JSON
    status = 200
    if path == "/plaintext":
        await send(PLAINTEXT_START)
        await send(PLAINTEXT_BODY)
        return
    if path == "/json":
        await send(JSON_START)
        await send(JSON_BODY)
        return
    if path.startswith("/items/"):
        status, body = item_response(path[7:], scope["query_string"])
    elif path == "/orders" and scope["method"] == "POST":
        try:
            order = decode_order(await read_body(receive))
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            status, body = 422, encode({"detail": str(exc)})
        else:
            total = sum(item.qty * item.price for item in order.items)
            summary = {
                "customer": order.customer.name,
                "item_count": len(order.items),
                "total": round(total, 2),
            }
            status, body = 201, encode(summary)
    elif path == "/db":
        body = encode(await db.world(random_id()))
    elif path == "/queries":
        body = encode(await db.worlds(queries_param(scope["query_string"])))
    elif path == "/fortunes":
        fortunes = await db.fortunes()
        fortunes.append(Fortune(0, EXTRA_FORTUNE))
        fortunes.sort(key=by_message)
        content_type = HTML
        body = template.render(fortunes=fortunes).encode()
    elif path.startswith("/worlds/"):
        raw_id = path[8:]  # an SQL integer: at most 9 digits
        world = await db.find_world(int(raw_id)) if raw_id.isdigit() and len(raw_id) < 10 else None
        status, body = (200, encode(world)) if world else (404, NOT_FOUND)
    elif path == "/worlds" and scope["method"] == "POST":
        try:
            data = decode_world(await read_body(receive))
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            status, body = 422, encode({"detail": str(exc)})
        else:
            status, body = 201, encode(await db.create_world(data.randomNumber))
    elif path == "/updates":
        body = encode(await db.update_worlds(queries_param(scope["query_string"])))
    elif path == "/cities":
        body = encode(await db.cities(random_city()))
    elif path == "/sse/room":
        await sse_room(receive, send)
        return
    elif path == "/sse/publish" and scope["method"] == "POST":
        content_type = TEXT
        body = sse_publish(await read_body(receive))
    elif path == "/upload" and scope["method"] == "POST":
        body = encode({"size": len(await read_body(receive))})
    else:
        status, body = 404, NOT_FOUND
    await send(start(status, content_type, body))
    await send({"type": "http.response.body", "body": body})
