"""An app with a WebSocket and a slow route, to stop with SIGTERM (tests/test_shutdown.py)."""

from __future__ import annotations

import asyncio

from plait import App, WebSocket

app = App(openapi_url=None)


@app.get("/slow")
async def slow(seconds: float = 1.0) -> str:
    await asyncio.sleep(seconds)
    return "done"


@app.websocket("/ws")
async def ws(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("hello")
    async for _ in websocket.iter_text():
        pass
