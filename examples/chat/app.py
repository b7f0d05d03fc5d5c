"""A chat: rooms of WebSockets joined through plait.channels, and a page to use them.

Run it with ``plait run examples/chat/app.py:app`` and open http://127.0.0.1:8000 in two
browser windows. On one process the messages stay in memory; with ``PLAIT_REDIS_URL`` set,
every process and machine serving the app shares the rooms (``plait run --workers 4``).
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from plait import App, EventSourceResponse, HTMLResponse, WebSocket
from plait.channels import Channels

MAX_TEXT = 500  # characters in one message
MAX_NAME = 40

app = App(title="plait chat")
channels = Channels(app)
PAGE = (Path(__file__).parent / "index.html").read_text(encoding="utf-8")


class Said(msgspec.Struct):
    name: str
    text: str


@app.get("/", response_class=HTMLResponse, include_in_schema=False)
def index() -> str:
    return PAGE


@app.websocket("/rooms/{room:str}")
async def room(ws: WebSocket, room: str, name: str = "anonymous") -> None:
    """Join ``room``: what this socket sends goes to everyone in it, on every node."""
    group = f"room:{room[:40]}"
    name = name.strip()[:MAX_NAME] or "anonymous"
    await ws.accept()
    async with channels.attach(ws, group):
        await channels.publish(group, {"name": "*", "text": f"{name} joined"})
        async for text in ws.iter_text():
            text = text.strip()
            if text:
                await channels.publish(group, Said(name, text[:MAX_TEXT]))
        await channels.publish(group, {"name": "*", "text": f"{name} left"})


@app.get("/rooms/{room:str}/events")
async def events(room: str) -> EventSourceResponse:
    """The same room as server-sent events, for read-only clients."""
    return await channels.event_source(f"room:{room[:40]}")


@app.post("/rooms/{room:str}/messages", status_code=202)
async def post_message(room: str, said: Said) -> dict[str, bool]:
    """Say something in ``room`` without a WebSocket (bots, tests, curl)."""
    await channels.publish(f"room:{room[:40]}", Said(said.name[:MAX_NAME], said.text[:MAX_TEXT]))
    return {"sent": True}
