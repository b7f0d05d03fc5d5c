"""SIGTERM on a real server: in-flight requests finish, WebSockets are closed with 1001.

granian drops WebSockets and uvicorn closes them with 1012 when told to stop; plait puts
itself in front of their SIGTERM handler so the browser hears 1001 (going away) and can
reconnect to another node.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from _servers import Server, granian_command, running, uvicorn_command

APPS = Path(__file__).parent / "apps"
COMMANDS = {
    "granian": granian_command("asgi", "shutdown_app:app"),
    "uvicorn": uvicorn_command("shutdown_app:app"),
}


async def stop_while_busy(server: Server) -> tuple[int, int | None, str]:
    ws = await connect(server.ws_url + "/ws")
    assert await asyncio.wait_for(ws.recv(), 5) == "hello"
    async with httpx.AsyncClient(timeout=20) as client:
        slow = asyncio.create_task(client.get(server.url + "/slow", params={"seconds": 1.5}))
        await asyncio.sleep(0.5)  # the request is in flight
        os.kill(server.process.pid, signal.SIGTERM)
        code: int | None = None
        reason = ""
        try:
            await asyncio.wait_for(ws.recv(), 10)
        except ConnectionClosed as closed:
            if closed.rcvd is not None:
                code, reason = closed.rcvd.code, closed.rcvd.reason
        response = await slow
    return response.status_code, code, reason


@pytest.mark.parametrize("name", list(COMMANDS))
def test_sigterm_closes_websockets_with_1001_and_lets_requests_finish(name: str) -> None:
    with running({name: COMMANDS[name]}, cwd=APPS, pythonpath=APPS) as servers:
        server = servers[name]
        start = time.monotonic()
        status, code, reason = asyncio.run(stop_while_busy(server))
        server.process.wait(timeout=15)
        elapsed = time.monotonic() - start
        log = server.log()  # read while its directory is there
    assert code == 1001, log
    assert reason == "Server shutting down"
    assert status == 200
    assert elapsed < 15
