"""The endpoints under load, the wrk scripts that request them, and reading wrk's output."""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DATA_ENDPOINTS",
    "DATA_PATH",
    "ENDPOINTS",
    "Endpoint",
    "WrkResult",
    "check_endpoint",
    "run_requests",
    "run_wrk",
    "wrk_version",
]

UPLOAD_SIZE = 1 << 20
ORDER = {
    "customer": {"name": "Ada Lovelace", "email": "ada@example.com"},
    "items": [
        {"sku": "BK-001", "qty": 2, "price": 12.5},
        {"sku": "PN-042", "qty": 1, "price": 3.25},
        {"sku": "NB-007", "qty": 3, "price": 4.0},
    ],
    "note": "leave at the door",
}


@dataclass(frozen=True)
class Endpoint:
    name: str
    label: str
    method: str
    path: str
    content_type: str = ""
    status: int = 200

    def body(self) -> bytes:
        if self.name == "upload":
            return b"x" * UPLOAD_SIZE
        if self.name == "orders":
            return json.dumps(ORDER, separators=(",", ":")).encode()
        if self.name == "create":
            return b'{"randomNumber":4242}'
        return b""

    def lua_body(self) -> str:
        """The body as a Lua expression (wrk builds the 1 MiB one itself)."""
        if self.name == "upload":
            return f'string.rep("x", {UPLOAD_SIZE})'
        if self.method == "POST":
            return f"[==[{self.body().decode()}]==]"
        return "nil"

    def lua_headers(self) -> str:
        return f'{{["Content-Type"] = "{self.content_type}"}}' if self.content_type else "nil"


ENDPOINTS = {
    endpoint.name: endpoint
    for endpoint in (
        Endpoint("plaintext", "plaintext", "GET", "/plaintext"),
        Endpoint("json", "JSON", "GET", "/json"),
        Endpoint("items", "validated GET", "GET", "/items/42?q=hello&limit=5"),
        Endpoint("orders", "validated POST", "POST", "/orders", "application/json", 201),
        Endpoint("db", "1 DB row", "GET", "/db"),
        Endpoint("queries", "20 DB rows", "GET", "/queries?queries=20"),
        Endpoint("fortunes", "fortunes", "GET", "/fortunes"),
        Endpoint("upload", "1 MiB upload", "POST", "/upload", "application/octet-stream"),
        # The data path: the ORM apps and the bare app (raw asyncpg) only.
        Endpoint("crud-get", "1 row by PK", "GET", "/worlds/42"),
        Endpoint("related", "20 rows + FK relation", "GET", "/cities"),
        Endpoint("create", "create (201)", "POST", "/worlds", "application/json", 201),
        Endpoint("updates", "20 updates", "GET", "/updates?queries=20"),
    )
}
# The endpoints only the data part measures, and every endpoint it measures.
DATA_PATH = ("crud-get", "related", "create", "updates")
DATA_ENDPOINTS = ("db", "queries", "fortunes", *DATA_PATH)


def check_endpoint(port: int, endpoint: Endpoint) -> str | None:
    """One request; what is wrong with the answer, or None when its status is the expected one."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Content-Type": endpoint.content_type} if endpoint.content_type else {}
        conn.request(endpoint.method, endpoint.path, endpoint.body() or None, headers)
        response = conn.getresponse()
        body = response.read()
    except OSError as exc:
        return f"{endpoint.method} {endpoint.path}: {exc!r}"
    finally:
        conn.close()
    if response.status != endpoint.status:
        return f"{endpoint.method} {endpoint.path}: {response.status} {body[:200]!r}"
    return None


def single_script(endpoint: Endpoint) -> str | None:
    """A static request for wrk (no per-request Lua), or None for a plain GET."""
    if endpoint.method == "GET":
        return None
    return (
        f'wrk.method = "{endpoint.method}"\n'
        f'wrk.headers["Content-Type"] = "{endpoint.content_type}"\n'
        f"wrk.body = {endpoint.lua_body()}\n"
    )


def mixed_script(endpoints: list[Endpoint], stop_after: int) -> str:
    """Each endpoint's request in turn; wrk exits after ``stop_after`` responses (the leak check).

    ``wrk.thread:stop()`` would only idle the thread until the duration ends, so it exits.
    """
    lines = ["local requests = {}", "local i = 0", "local n = 0", "init = function(args)"]
    for endpoint in endpoints:
        lines.append(
            f'  requests[#requests + 1] = wrk.format("{endpoint.method}", "{endpoint.path}", '
            f"{endpoint.lua_headers()}, {endpoint.lua_body()})"
        )
    lines += [
        "end",
        "request = function()",
        "  i = i % #requests + 1",
        "  return requests[i]",
        "end",
        "response = function(status, headers, body)",
        "  n = n + 1",
        f"  if n >= {stop_after} then os.exit(0) end",
        "end",
    ]
    return "\n".join(lines) + "\n"


@dataclass
class WrkResult:
    rps: float
    p99_ms: float | None
    requests: int
    non2xx: int
    socket_errors: int
    output: str


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(output: str) -> WrkResult:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    requests = re.search(r"(\d+) requests in", output)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if rps is None or requests is None:
        raise RuntimeError(f"could not read wrk's output:\n{output}")
    return WrkResult(
        rps=float(rps.group(1)),
        p99_ms=float(p99.group(1)) * _UNITS_MS[p99.group(2)] if p99 else None,
        requests=int(requests.group(1)),
        non2xx=int(non2xx.group(1)) if non2xx else 0,
        socket_errors=sum(int(g) for g in errors.groups()) if errors else 0,
        output=output,
    )


def run_wrk(
    port: int,
    path: str,
    *,
    duration: int,
    connections: int,
    cpu: str | None,
    script: str | None = None,
    timeout: float | None = None,
) -> WrkResult:
    """wrk -t1 against 127.0.0.1:port, pinned to ``cpu``; ``script`` is Lua source, if any."""
    return parse_wrk(_wrk(port, path, duration, connections, cpu, script, timeout or duration + 60))


def run_requests(
    port: int, endpoints: list[Endpoint], count: int, *, connections: int, cpu: str | None
) -> None:
    """Send ``count`` requests cycling through ``endpoints``, however long that takes."""
    _wrk(port, "/", 3600, connections, cpu, mixed_script(endpoints, count), 3600)


def _wrk(
    port: int,
    path: str,
    duration: int,
    connections: int,
    cpu: str | None,
    script: str | None,
    timeout: float,
) -> str:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "--latency"]
    if cpu is not None:
        command = ["taskset", "-c", cpu, *command]
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        if script is not None:
            lua = Path(tmp) / "script.lua"
            lua.write_text(script)
            command += ["-s", str(lua)]
        command.append(f"http://127.0.0.1:{port}{path}")
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return done.stdout


def wrk_version() -> str:
    try:
        done = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    except OSError:
        return "not installed"
    first = (done.stdout or done.stderr).strip().splitlines()
    return first[0].split()[1] if first and len(first[0].split()) > 1 else "unknown"
