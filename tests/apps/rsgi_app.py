"""The app ``tests/test_rsgi.py`` serves over granian RSGI, granian ASGI and uvicorn.

``app`` is plain (RSGI takes its fast path); ``wrapped`` has the same routes behind a user
middleware (RSGI runs the whole ASGI stack over shims).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from typing import Any

from plait import (
    App,
    BackgroundTask,
    EventSourceResponse,
    FileResponse,
    HTTPException,
    PlainTextResponse,
    Request,
    Response,
    StreamingResponse,
    WebSocket,
)
from plait.types import Message, Receive, Scope, Send

MAX_BODY = 1024


async def bare_asgi(scope: Scope, receive: Receive, send: Send) -> None:
    """A mounted plain ASGI app: it reads the scope as any ASGI app would."""
    host = dict(scope["headers"]).get(b"host", b"").decode()
    body = f"{scope['root_path']}|{scope['path']}|{host}|{scope['query_string'].decode()}"
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body.encode()})


def build(app: App) -> App:
    app.state.started = False
    app.state.done = []

    @app.on_startup
    def started() -> None:
        app.state.started = True

    @app.get("/")
    def plaintext() -> str:
        return "Hello, World!"

    @app.get("/json")
    def json() -> dict[str, str]:
        return {"message": "Hello, World!"}

    @app.get("/items/{item_id:int}")
    def item(item_id: int, q: str | None = None) -> dict[str, Any]:
        return {"item_id": item_id, "q": q}

    @app.get("/files/{rest:path}")
    def files(rest: str) -> str:
        return rest

    @app.get("/query")
    def query(request: Request) -> list[list[str]]:
        return [list(pair) for pair in request.query_params.multi_items()]

    @app.get("/request")
    def request_info(request: Request) -> dict[str, Any]:
        client = request.client
        return {
            "method": request.method,
            "url": str(request.url),
            "scheme": request.url.scheme,
            "client": client.host if client else None,
            "x_test": request.headers.getlist("x-test"),
            "cookies": request.cookies,
            "started": app.state.started,
        }

    @app.post("/echo")
    async def echo(request: Request) -> Any:
        return await request.json()

    @app.post("/size")
    async def size(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    @app.post("/stream-size")
    async def stream_size(request: Request) -> dict[str, int]:
        total = 0
        async for chunk in request.stream():
            total += len(chunk)
        return {"size": total}

    @app.put("/put-only")
    def put_only() -> str:
        return "put"

    @app.get("/teapot")
    def teapot() -> None:
        raise HTTPException(418, "short and stout", headers={"X-Teapot": "yes"})

    @app.get("/created", status_code=201)
    def created() -> dict[str, bool]:
        return {"created": True}

    @app.get("/empty")
    def empty() -> None:
        return None

    @app.get("/cookies")
    def cookies() -> Response:
        response = PlainTextResponse("two cookies", headers={"X-Custom": "1"})
        response.set_cookie("a", "1")
        response.set_cookie("b", "2")
        return response

    @app.get("/background")
    def background() -> Response:
        return PlainTextResponse("sent", background=BackgroundTask(app.state.done.append, "bg"))

    @app.get("/background-done")
    def background_done() -> list[str]:
        return list(app.state.done)

    @app.get("/stream")
    def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[str]:
            for i in range(5):
                await asyncio.sleep(0.001)
                yield f"chunk {i}\n"

        return StreamingResponse(chunks(), media_type="text/plain")

    @app.get("/file")
    def file() -> FileResponse:
        return FileResponse(__file__, media_type="text/x-python")

    @app.get("/sse")
    def sse() -> EventSourceResponse:
        async def events() -> AsyncIterator[dict[str, str]]:
            for i in range(3):
                yield {"data": f"event {i}", "id": str(i)}

        return EventSourceResponse(events())

    @app.get("/sse-forever")
    def sse_forever() -> EventSourceResponse:
        async def events() -> AsyncIterator[str]:
            try:
                while True:
                    yield "tick"
                    await asyncio.sleep(0.01)
            finally:
                app.state.done.append("sse closed")

        return EventSourceResponse(events())

    @app.websocket("/ws/echo")
    async def ws_echo(ws: WebSocket) -> None:
        await ws.accept()
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                await ws.send_text(message["text"])
            else:
                await ws.send_bytes(message["bytes"])

    @app.websocket("/ws/json")
    async def ws_json(ws: WebSocket) -> None:
        await ws.accept()
        async for doc in ws.iter_json():
            await ws.send_json({"echo": doc})

    @app.websocket("/ws/rooms/{room}")
    async def ws_room(ws: WebSocket, room: str) -> None:
        await ws.accept()
        await ws.send_json({"room": room, "query": dict(ws.query_params), "url": str(ws.url)})
        await ws.close()

    @app.websocket("/ws/close")
    async def ws_close(ws: WebSocket) -> None:
        await ws.accept()
        await ws.receive_text()
        await ws.close(4001, "bye")

    @app.websocket("/ws/deny")
    async def ws_deny(ws: WebSocket) -> None:
        await ws.close(4403)

    @app.websocket("/ws/subprotocol")
    async def ws_subprotocol(ws: WebSocket) -> None:
        await ws.accept(subprotocol="chat.v2" if "chat.v2" in ws.subprotocols else None)
        await ws.send_json(ws.subprotocols)
        await ws.receive_text()

    app.mount("/asgi", bare_asgi)
    return app


class Tagged:
    """A pure ASGI middleware: tags HTTP responses and WebSocket accepts."""

    def __init__(self, app: Any, tag: str) -> None:
        self.app = app
        self.tag = tag.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def tagging_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-tag", self.tag)]
            await send(message)

        await self.app(scope, receive, tagging_send)


app = build(App(max_body_size=MAX_BODY))
wrapped = build(App(max_body_size=MAX_BODY))
wrapped.add_middleware(Tagged, tag="wrapped")


@contextlib.asynccontextmanager
async def lifespan(app: App) -> AsyncIterator[dict[str, str]]:
    print("plait-test: lifespan entered", flush=True)
    yield {"db": "connected"}
    print("plait-test: lifespan exited", flush=True)


lifecycle = App(lifespan=lifespan)


@lifecycle.on_startup
def announce_startup() -> None:
    print("plait-test: startup hook", flush=True)


@lifecycle.on_shutdown
def announce_shutdown() -> None:
    print("plait-test: shutdown hook", flush=True)


@lifecycle.get("/state")
def lifecycle_state(request: Request) -> dict[str, str]:
    return {"db": lifecycle.state.db}


@lifecycle.post("/digest")
async def digest(request: Request) -> dict[str, Any]:
    """(On the app with the default body limit: large bodies.)"""
    body = await request.body()
    return {"size": len(body), "sha256": hashlib.sha256(body).hexdigest()}


failing = App()


@failing.on_startup
def fail_startup() -> None:
    raise RuntimeError("plait-test: database unreachable")
