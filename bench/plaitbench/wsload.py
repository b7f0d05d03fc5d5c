"""The real-time load client: WebSocket echo and broadcast, SSE fan-out, idle connections.

One asyncio process, run pinned to the load CPU by ``realtime.py``; it prints one JSON
object. The default engine is picows (a Cython WebSocket client for asyncio: callbacks, no
task per message), so that the client is not the bottleneck; ``--client websockets`` runs
the echo with the ``websockets`` library instead, to check exactly that (docs/benchmarks.md).

    python -m plaitbench.wsload echo --port 8000 --connections 100 --kind json
    python -m plaitbench.wsload broadcast --port 8000 --clients 1000 [--rate 20]
    python -m plaitbench.wsload sse --port 8000 --clients 1000 [--rate 20]
    python -m plaitbench.wsload idle --port 8000 --clients 10000 --server-pid 1234

Latency is measured inside this process (the publisher and the receivers are all here):
from just before the publish is written to the arrival of each copy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["main"]

ECHO_TEXT = "Hello, World! " * 4
ECHO_JSON = json.dumps({"message": "Hello, World!", "n": 42, "tags": ["fast", "typed"]})
BATCH = 250  # connections opened at once


def _raise_nofile(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(hard, max(soft, wanted))
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (0 when unknown)."""
    if not pid:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat") as file:
            fields = file.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


class Window:
    """The measured window: wall time, and the CPU the server and this client used in it."""

    server_pid = 0

    def __init__(self) -> None:
        self.began = time.perf_counter()
        self.server = _cpu_seconds(self.server_pid)
        self.client = time.process_time()

    def close(self, count: int, key: str) -> dict[str, Any]:
        elapsed = time.perf_counter() - self.began
        server = _cpu_seconds(self.server_pid) - self.server
        client = time.process_time() - self.client
        found: dict[str, Any] = {
            key: round(count / elapsed),
            "client_cpu_pct": round(client / elapsed * 100, 1),
        }
        if self.server_pid:
            found["server_cpu_pct"] = round(server / elapsed * 100, 1)
            found[key + "_per_cpu_s"] = round(count / server) if server else None
        return found


def _percentiles(latencies: list[float]) -> dict[str, float]:
    if not latencies:
        return {"p50_ms": 0.0, "p99_ms": 0.0}
    ordered = sorted(latencies)
    return {
        "p50_ms": round(ordered[len(ordered) // 2] * 1000, 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 3),
    }


async def _in_batches(count: int, open_one: Callable[[int], Any]) -> list[Any]:
    opened: list[Any] = []
    for start in range(0, count, BATCH):
        opened += await asyncio.gather(
            *(open_one(i) for i in range(start, min(count, start + BATCH)))
        )
    return opened


# --------------------------------------------------------------------------- picows echo


def _picows_listener(on_text: Callable[[Any, str], None]) -> Any:
    from picows import WSListener, WSMsgType

    class Listener(WSListener):  # type: ignore[misc]
        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            if frame.msg_type == WSMsgType.TEXT:
                on_text(transport, frame.get_payload_as_utf8_text())
            elif frame.msg_type == WSMsgType.CLOSE:
                transport.disconnect()

    return Listener


async def echo_picows(
    url: str, connections: int, kind: str, warmup: float, duration: float
) -> dict[str, Any]:
    from picows import WSMsgType, ws_connect

    payload = (ECHO_JSON if kind == "json" else ECHO_TEXT).encode()
    expected = json.loads(ECHO_JSON) if kind == "json" else ECHO_TEXT
    state = {"count": 0, "bad": 0}

    def on_text(transport: Any, text: str) -> None:
        if state["count"] == 0 and (json.loads(text) if kind == "json" else text) != expected:
            state["bad"] += 1
        state["count"] += 1
        transport.send(WSMsgType.TEXT, payload)

    listener = _picows_listener(on_text)

    async def open_one(i: int) -> Any:
        transport, _ = await ws_connect(listener, url, websocket_handshake_timeout=60)
        return transport

    transports = await _in_batches(connections, open_one)
    for transport in transports:
        transport.send(WSMsgType.TEXT, payload)
    await asyncio.sleep(warmup)
    before, window = state["count"], Window()
    await asyncio.sleep(duration)
    found = window.close(state["count"] - before, "msgs_per_s")
    for transport in transports:
        transport.disconnect()
    return {**found, "bad": state["bad"], "client": "picows"}


async def echo_websockets(
    url: str, connections: int, kind: str, warmup: float, duration: float
) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    payload = ECHO_JSON if kind == "json" else ECHO_TEXT
    state = {"count": 0, "stop": False}

    async def one(ws: Any) -> None:
        while not state["stop"]:
            await ws.send(payload)
            await ws.recv()
            state["count"] += 1

    async def open_one(i: int) -> Any:
        return await connect(url, compression=None, max_queue=None)

    sockets = await _in_batches(connections, open_one)
    tasks = [asyncio.create_task(one(ws)) for ws in sockets]
    await asyncio.sleep(warmup)
    before, window = state["count"], Window()
    await asyncio.sleep(duration)
    found = window.close(state["count"] - before, "msgs_per_s")
    state["stop"] = True
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return {**found, "bad": 0, "client": "websockets"}


# ------------------------------------------------------------------------ fan-out (shared)


class FanOut:
    """Publishes numbered messages and times every copy's arrival.

    Saturated (``rate`` 0): at most ``window`` messages not yet received by every client are
    in flight; each completion publishes the next. Paced: one message every 1/rate s.
    """

    def __init__(
        self, clients: int, window: int, rate: float, publish: Callable[[int], None]
    ) -> None:
        self.clients = clients
        self.window = window
        self.rate = rate
        self._publish = publish
        self.sent: dict[int, float] = {}
        self.pending: dict[int, int] = {}
        self.next_seq = 0
        self.measuring = False
        self.stopped = False
        self.deliveries = 0
        self.latencies: list[float] = []
        self.primed = asyncio.get_running_loop().create_future()
        self.seen: set[int] = set()  # client ids that received anything (priming)
        self.idle = asyncio.Event()  # set while no message is on its way
        self.lost = 0  # clients the server closed (a slow consumer dropped)

    def publish_next(self) -> None:
        if self.stopped:
            return
        seq = self.next_seq
        self.next_seq += 1
        self.pending[seq] = self.clients
        self.sent[seq] = time.perf_counter()
        self.idle.clear()
        self._publish(seq)

    def arrived(self, client: int, seq: int) -> None:
        now = time.perf_counter()
        if not self.primed.done():
            self.seen.add(client)
            if len(self.seen) == self.clients:
                self.primed.set_result(None)
            return
        sent = self.sent.get(seq)
        if sent is None:
            return
        if self.measuring:
            self.deliveries += 1
            self.latencies.append(now - sent)
        left = self.pending[seq] - 1
        if left:
            self.pending[seq] = left
            return
        del self.pending[seq], self.sent[seq]
        if not self.rate:
            self.publish_next()
        elif not self.pending:
            self.idle.set()

    async def prime(self, prime: Callable[[], None]) -> None:
        """Wait until every client is subscribed and receiving."""
        while not self.primed.done():
            prime()
            await asyncio.wait([self.primed], timeout=2.0)
        await asyncio.sleep(0.2)
        self.next_seq = 1_000_000  # primed copies still arriving are not counted

    async def run(self, warmup: float, duration: float) -> dict[str, Any]:
        """One measured window: saturated, or paced at ``rate`` (then stopped)."""
        self.stopped = False
        self.deliveries = 0
        self.latencies = []
        pacer = None
        if self.rate:
            pacer = asyncio.create_task(self._pace())
        else:
            for _ in range(self.window):
                self.publish_next()
        await asyncio.sleep(warmup)
        self.measuring = True
        window = Window()
        await asyncio.sleep(duration)
        self.measuring = False
        found = window.close(self.deliveries, "deliveries_per_s")
        self.stopped = True
        if pacer is not None:
            pacer.cancel()
        return {
            **found,
            **_percentiles(self.latencies),
            "rate": self.rate,
            "clients": self.clients,
        }

    async def drain(self) -> None:
        """Wait until every published message reached every client."""
        await self.idle.wait()

    async def _pace(self) -> None:
        interval = 1 / self.rate
        due = time.perf_counter()
        while True:
            self.publish_next()
            due += interval
            await asyncio.sleep(max(0.0, due - time.perf_counter()))


Measure = Callable[[FanOut], Awaitable[dict[str, Any]]]
"""What a fan-out scenario measures once its clients are primed (one window, or a sweep)."""


async def broadcast(
    url: str, clients: int, window: int, rate: float, measure: Measure
) -> dict[str, Any]:
    from picows import WSMsgType, ws_connect

    transports: list[Any] = []
    fan: FanOut

    def publish(seq: int) -> None:
        transports[0].send(WSMsgType.TEXT, b"%d" % seq)

    def make(client: int) -> Any:
        from picows import WSListener

        class Listener(WSListener):  # type: ignore[misc]
            def on_ws_frame(self, transport: Any, frame: Any) -> None:
                if frame.msg_type == WSMsgType.TEXT:
                    fan.arrived(client, int(frame.get_payload_as_bytes()))
                elif frame.msg_type == WSMsgType.CLOSE:
                    fan.lost += 1

        return Listener

    fan = FanOut(clients, window, rate, publish)

    async def open_one(i: int) -> Any:
        transport, _ = await ws_connect(make(i), url, websocket_handshake_timeout=60)
        return transport

    transports += await _in_batches(clients, open_one)
    await fan.prime(lambda: publish(0))
    result = await measure(fan)
    for transport in transports:
        transport.disconnect()
    return result


# ----------------------------------------------------------------------------------- SSE

_EVENT = re.compile(rb"data: (\d+)\r?\n")


class _SSEClient(asyncio.Protocol):
    def __init__(self, client: int, fan: Callable[[], FanOut], path: str) -> None:
        self.client = client
        self.fan = fan
        self.path = path
        self.buffer = b""
        self.status = 0

    def connection_made(self, transport: Any) -> None:
        transport.write(
            f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n".encode()
        )

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data
        if not self.status and buffer.startswith(b"HTTP/1.1 "):
            self.status = int(buffer[9:12])
        end = 0
        fan = self.fan()
        for match in _EVENT.finditer(buffer):
            fan.arrived(self.client, int(match.group(1)))
            end = match.end()
        self.buffer = buffer[end:][-256:]

    def connection_lost(self, exc: Exception | None) -> None:
        self.fan().lost += 1


class _Publisher(asyncio.Protocol):
    """POSTs on one keep-alive connection; counts the answers (bodies are short)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.transport: Any = None
        self.answers = 0
        self.buffer = b""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def post(self, body: bytes) -> None:
        head = f"POST {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n"
        self.transport.write(head.encode() + body)

    def data_received(self, data: bytes) -> None:
        self.buffer = (self.buffer + data)[-4096:]


async def sse(
    host: str, port: int, clients: int, window: int, rate: float, measure: Measure
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    _, publisher = await loop.create_connection(lambda: _Publisher("/sse/publish"), host, port)
    fan = FanOut(clients, window, rate, lambda seq: publisher.post(b"%d" % seq))

    async def open_one(i: int) -> Any:
        transport, protocol = await loop.create_connection(
            lambda: _SSEClient(i, lambda: fan, "/sse/room"), host, port
        )
        return transport, protocol

    opened = await _in_batches(clients, open_one)
    await fan.prime(lambda: publisher.post(b"0"))
    result = await measure(fan)
    statuses = {protocol.status for _, protocol in opened}
    for transport, _ in opened:
        transport.close()
    publisher.transport.close()
    return {**result, "statuses": sorted(statuses)}


# ---------------------------------------------------------------------------------- idle


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as file:
        for line in file:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def idle(url: str, clients: int, rss_pid: int) -> dict[str, Any]:
    from picows import ws_connect

    listener = _picows_listener(lambda transport, text: None)
    await asyncio.sleep(0.5)
    before = _rss_kib(rss_pid)

    async def open_one(i: int) -> Any:
        transport, _ = await ws_connect(listener, url, websocket_handshake_timeout=60)
        return transport

    transports = await _in_batches(clients, open_one)
    await asyncio.sleep(2)
    after = _rss_kib(rss_pid)
    for transport in transports:
        transport.disconnect()
    return {
        "connections": len(transports),
        "rss_before_mib": round(before / 1024, 1),
        "rss_mib": round(after / 1024, 1),
        "kib_per_connection": round((after - before) / max(1, len(transports)), 1),
    }


# ---------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=["echo", "broadcast", "sse", "idle"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--kind", choices=["text", "json"], default="text")
    parser.add_argument("--client", choices=["picows", "websockets"], default="picows")
    parser.add_argument("--window", type=int, default=4, help="messages in flight (saturated)")
    parser.add_argument("--rate", type=float, default=0.0, help="messages/s (0: saturated)")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--server-pid", type=int, default=0, help="for its CPU time and RSS")
    parser.add_argument(
        "--sweep", type=float, default=0.0, metavar="MS",
        help="broadcast, sse: find the highest paced rate whose p99 stays under MS ms",
    )  # fmt: skip
    parser.add_argument("--budget", type=float, default=60.0, help="seconds a sweep may take")
    parser.add_argument("--step", type=float, default=2.0, help="seconds measured per sweep rate")
    args = parser.parse_args(argv)
    _raise_nofile(max(args.clients, args.connections) + 1024)
    Window.server_pid = args.server_pid
    base = f"ws://{args.host}:{args.port}"
    if args.scenario == "echo":
        path = "/ws/json" if args.kind == "json" else "/ws/echo"
        run = echo_websockets if args.client == "websockets" else echo_picows
        coro = run(base + path, args.connections, args.kind, args.warmup, args.duration)
    elif args.scenario in ("broadcast", "sse"):
        from plaitbench.rtsweep import measure_for

        measure = measure_for(args)
        if args.scenario == "broadcast":
            coro = broadcast(base + "/ws/room", args.clients, args.window, args.rate, measure)
        else:
            coro = sse(args.host, args.port, args.clients, args.window, args.rate, measure)
    else:
        coro = idle(base + "/ws/echo", args.clients, args.server_pid)
    try:
        import uvloop

        runner: Callable[[Any], Any] = uvloop.run
    except ImportError:
        runner = asyncio.run
    limit = args.warmup + args.duration + 120 + (args.budget if args.sweep else 0)
    result = runner(asyncio.wait_for(coro, limit))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
