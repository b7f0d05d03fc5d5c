"""Instructions per request, counted by valgrind: a load-independent measure of framework cost.

wrk's requests/s on a shared machine swing with whatever else runs; the number of CPU
instructions the app executes per request does not. This drives a bench app in-process (no
server, no sockets: the ASGI ``receive``/``send`` or RSGI protocol are tiny fakes), once with
``N`` requests and once with ``2N``, each under ``valgrind --tool=callgrind``, and reports the
difference divided by ``N``: start-up and import cost cancel out.

    python bench/callgrind.py                        # bare and plait, four endpoints
    python bench/callgrind.py --apps plait,plait-rsgi --endpoints items,orders
    python bench/callgrind.py --profile plait items  # callgrind.out for callgrind_annotate

Only the endpoints that need no database are driven (plaintext, json, items, orders,
upload): a database round-trip's cost is in the driver, not the framework. The real-time
endpoints (``ws-echo``, ``ws-json``: per message echoed; ``ws-room``, ``sse``: per delivery
of a broadcast to 100 subscribers) run on an event loop (``plaitbench/rtdrive.py``):

    python bench/callgrind.py --apps bare,plait,starlette --endpoints ws-echo,ws-json,ws-room,sse The apps are the
same ``bench/apps/*_app.py`` the wrk runs use, so the numbers compare like for like.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
ORDER = (
    b'{"customer":{"name":"Ada","email":"ada@example.com"},"items":['
    b'{"sku":"A-1","qty":2,"price":9.5},{"sku":"B-2","qty":1,"price":20.0}],"note":"gift"}'
)
UPLOAD = b"x" * (1 << 20)
ENDPOINTS: dict[str, tuple[str, str, bytes, bytes]] = {
    # name: (method, path, query string, body)
    "plaintext": ("GET", "/plaintext", b"", b""),
    "json": ("GET", "/json", b"", b""),
    "items": ("GET", "/items/42", b"q=hello&limit=5", b""),
    "orders": ("POST", "/orders", b"", ORDER),
    "upload": ("POST", "/upload", b"", UPLOAD),
}
# BlackSheep is left out: driven without a running event loop it stops answering after a few
# hundred requests (seen with blacksheep 2.6.4), so its count would mean nothing.
APPS = ("bare", "plait", "plait-rsgi", "starlette", "litestar", "fastapi")


def _headers(body: bytes) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"user-agent", b"wrk"),
        (b"accept", b"*/*"),
    ]
    if body:
        headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
    return headers


def _asgi_driver(app: Any, endpoint: str) -> Any:
    method, path, query, body = ENDPOINTS[endpoint]
    headers = _headers(body)
    chunk = 65536
    sent: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            sent.append(message["status"])

    def one() -> None:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "server": ("127.0.0.1", 8000),
            "client": ("127.0.0.1", 40000),
            "scheme": "http",
            "method": method,
            "root_path": "",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query,
            "headers": headers,
            "state": {},
        }
        pos = 0

        async def receive() -> dict[str, Any]:
            nonlocal pos
            piece = body[pos : pos + chunk]
            pos += chunk
            return {"type": "http.request", "body": piece, "more_body": pos < len(body)}

        _drive(app(scope, receive, send))

    return one, sent


class _RSGIHeaders(dict[str, str]):
    def get_all(self, name: str) -> list[str]:
        return [self[name]] if name in self else []


class _RSGIScope:
    proto = "http"
    http_version = "1.1"
    rsgi_version = "1.5"
    server = "127.0.0.1:8000"
    client = "127.0.0.1:40000"
    scheme = "http"
    authority = None

    def __init__(self, method: str, path: str, query: bytes, body: bytes) -> None:
        self.method = method
        self.path = path
        self.query_string = query.decode()
        self.headers = _RSGIHeaders((k.decode(), v.decode()) for k, v in _headers(body))


class _RSGIProtocol:
    def __init__(self, body: bytes, sent: list[int]) -> None:
        self.body = body
        self.sent = sent

    def __await__(self) -> Any:
        return self._read().__await__()

    async def _read(self) -> bytes:
        return self.body

    def __call__(self) -> _RSGIProtocol:
        return self

    def response_bytes(self, status: int, headers: Any, body: bytes) -> None:
        self.sent.append(status)

    def response_str(self, status: int, headers: Any, body: str) -> None:
        self.sent.append(status)

    def response_empty(self, status: int, headers: Any) -> None:
        self.sent.append(status)


def _rsgi_driver(app: Any, endpoint: str) -> Any:
    method, path, query, body = ENDPOINTS[endpoint]
    sent: list[int] = []
    handler = app.__rsgi__
    scope = _RSGIScope(method, path, query, body)  # granian builds it natively

    def one() -> None:
        _drive(handler(scope, _RSGIProtocol(body, sent)))

    return one, sent


def _drive(coro: Any) -> None:
    """Run a coroutine that never really suspends, without an event loop."""
    try:
        coro.send(None)
    except StopIteration:
        return
    coro.close()
    raise RuntimeError("the request suspended: this endpoint needs an event loop")


def _load(name: str) -> Any:
    sys.path.insert(0, str(HERE / "apps"))
    module = __import__(f"{name.removesuffix('-rsgi')}_app")
    app = module.app
    if name.startswith("plait"):
        app.build()
    return app


def _units(endpoint: str, count: int) -> tuple[int, int]:
    """(what the driver is asked for, what that makes in messages or deliveries)."""
    from plaitbench.rtdrive import FANOUT

    if endpoint in ("ws-room", "sse"):
        return count // 20, count // 20 * FANOUT
    return count, count


def child(name: str, endpoint: str, count: int) -> None:
    """Serve ``count`` requests of ``endpoint`` (in the process valgrind watches)."""
    if name not in APPS:
        raise SystemExit(f"{name}: not one of {', '.join(APPS)}")
    app = _load(name)
    from plaitbench.rtdrive import RT_ENDPOINTS, drive

    if endpoint in RT_ENDPOINTS:
        asked, expected = _units(endpoint, count)
        done = drive(app, endpoint, asked)
        if done != expected:
            raise SystemExit(f"{name} {endpoint}: {done} delivered, expected {expected}")
        return
    make = _rsgi_driver if name.endswith("-rsgi") else _asgi_driver
    one, sent = make(app, endpoint)
    for _ in range(50):  # warm caches, lazy imports and first-call paths
        one()
    for _ in range(count):
        one()
    ok = {"orders": 201}.get(endpoint, 200)
    if set(sent) != {ok}:
        raise SystemExit(f"{name} {endpoint}: statuses {sorted(set(sent))}, expected {ok}")


def _instructions(name: str, endpoint: str, count: int, out: str) -> int:
    cmd = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out}",
        sys.executable,
        __file__,
        "--child",
        name,
        endpoint,
        str(count),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode:
        raise SystemExit(proc.stdout + proc.stderr)
    match = re.search(r"Collected : (\d+)", proc.stderr)
    if match is None:
        raise SystemExit(proc.stderr)
    return int(match.group(1))


def measure(name: str, endpoint: str, count: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        low = _instructions(name, endpoint, count, f"{tmp}/a")
        high = _instructions(name, endpoint, 2 * count, f"{tmp}/b")
    return (high - low) / (_units(endpoint, 2 * count)[1] - _units(endpoint, count)[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", default="bare,plait,plait-rsgi")
    parser.add_argument("--endpoints", default="plaintext,json,items,orders")
    parser.add_argument("--count", type=int, default=2000, help="requests (default 2000)")
    parser.add_argument("--profile", nargs=2, metavar=("APP", "ENDPOINT"))
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    if args.profile:
        out = f"callgrind.out.{args.profile[0]}.{args.profile[1]}"
        _instructions(args.profile[0], args.profile[1], args.count, out)
        print(f"wrote {out}: callgrind_annotate --inclusive=yes {out} | head -60")
        return
    apps = args.apps.split(",")
    endpoints = args.endpoints.split(",")
    rows = {name: {e: measure(name, e, args.count) for e in endpoints} for name in apps}
    print("Instructions per request, in thousands (what the framework adds to the bare app's):")
    print()
    print("| app | " + " | ".join(endpoints) + " |")
    print("|---|" + "---:|" * len(endpoints))
    for name, row in rows.items():
        cells = []
        for e in endpoints:
            base = rows.get("bare", {}).get(e)
            added = f" (+{(row[e] - base) / 1000:.1f})" if base and name != "bare" else ""
            cells.append(f"{row[e] / 1000:.1f}{added}")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
