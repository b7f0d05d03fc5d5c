"""Three ``plait run`` nodes behind nginx on loopback ports, sharing PostgreSQL and Redis.

Each node is its own ``plait run`` process group (one worker; uvicorn, which ``plait run``
picks for an app with WebSocket routes); nginx (the Debian
package) balances over them round-robin, passes WebSockets through, and retries a request on
the next node when one refuses connections or answers 502/503 (for POSTs only when nothing
was sent yet, nginx's default for non-idempotent methods).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from _servers import Server, free_port

__all__ = ["Cluster", "cluster", "nginx_binary"]

HERE = Path(__file__).resolve().parent
NODES = ("a", "b", "c")

NGINX_CONF = """
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
daemon off;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream plait {{
{servers}
        keepalive 32;
    }}
    map $http_upgrade $connection_upgrade {{ default upgrade; '' ''; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://plait;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_next_upstream error timeout http_502 http_503;
            proxy_next_upstream_tries 3;
            proxy_connect_timeout 2s;
            proxy_read_timeout 30s;
        }}
    }}
}}
"""


def nginx_binary() -> str | None:
    """The nginx executable (Debian puts it in /usr/sbin, often not on a user's PATH)."""
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


@dataclass
class Cluster:
    nodes: dict[str, Server]
    proxy: Server
    logs: Path
    worker: Server

    @property
    def url(self) -> str:
        return self.proxy.url

    def node_url(self, name: str) -> str:
        return self.nodes[name].url

    def log(self, name: str) -> str:
        return self.nodes[name].log()


def _node_command(name: str, port: int) -> list[str]:
    return [
        "env",
        f"CLUSTER_NODE={name}",
        sys.executable,
        "-m",
        "plait",
        "run",
        "cluster_app.py:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


def _start(name: str, command: list[str], port: int, env: Mapping[str, str], logs: Path) -> Server:
    log_path = logs / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=HERE,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped with its workers
        )
    return Server(name, port, process, log_path)


def wait_ready(server: Server, path: str, deadline: float) -> None:
    """Wait until ``server`` answers ``path`` with a 200 (its services reachable)."""
    last = ""
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited ({server.process.returncode}):\n{server.log()}"
            )
        try:
            response = httpx.get(server.url + path, timeout=2)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.1)
    raise RuntimeError(f"{server.name} not ready ({last}):\n{server.log()}")


@contextlib.contextmanager
def cluster(env: Mapping[str, str], logs: Path, timeout: float = 60) -> Iterator[Cluster]:
    """Start the three nodes and nginx; stop every process afterwards, whatever happened."""
    nginx = nginx_binary()
    assert nginx is not None
    servers: dict[str, Server] = {}
    proxy: Server | None = None
    extra: list[Server] = []
    ports: set[int] = set()

    def port() -> int:
        while (chosen := free_port()) in ports:
            pass
        ports.add(chosen)
        return chosen

    try:
        for name in NODES:
            node_port = port()
            servers[name] = _start(name, _node_command(name, node_port), node_port, env, logs)
        proxy_port = port()
        upstreams = "\n".join(
            f"        server 127.0.0.1:{s.port} max_fails=1 fail_timeout=10s;"
            for s in servers.values()
        )
        (logs / "nginx").mkdir()
        conf = logs / "nginx" / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=logs / "nginx", servers=upstreams, port=proxy_port))
        command = [nginx, "-e", str(logs / "nginx" / "error.log"), "-p", str(logs / "nginx")]
        proxy = _start("nginx", [*command, "-c", str(conf)], proxy_port, env, logs)
        # One task worker, as a deployment would run beside the app nodes.
        worker_command = [sys.executable, "-m", "plait", "worker", "cluster_app.py:app"]
        worker = _start("worker", worker_command, 0, env, logs)
        extra.append(worker)
        deadline = time.monotonic() + timeout
        for server in servers.values():
            wait_ready(server, "/readyz", deadline)
        wait_ready(proxy, "/healthz", deadline)
        yield Cluster(servers, proxy, logs, extra[0])
    finally:
        for server in [*servers.values(), *([proxy] if proxy else []), *extra]:
            server.stop()


def kill(server: Server, sig: signal.Signals = signal.SIGKILL) -> None:
    """Send ``sig`` to the node's whole process group (granian's workers included)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.process.pid, sig)
