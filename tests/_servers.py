"""Run real servers (granian, uvicorn) in subprocesses for end-to-end tests.

Each server starts in its own process group and is always stopped by that id (SIGTERM, then
SIGKILL), also when a test or the start-up fails. Its output goes to a log file that the
tests can read (and that is shown when the server does not come up)::

    with running({"rsgi": granian_command("rsgi", "myapp:app")}, cwd=apps_dir) as servers:
        httpx.get(servers["rsgi"].url + "/")
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Server",
    "free_port",
    "granian_command",
    "run_until_exit",
    "running",
    "stop_group",
    "uvicorn_command",
]

Command = Callable[[int], list[str]]


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def granian_command(interface: str, target: str, *extra: str) -> Command:
    """``granian --interface rsgi|asgi`` with one worker, as a function of the port."""

    def command(port: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            interface,
            "--workers",
            "1",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *extra,
            target,
        ]

    return command


def uvicorn_command(target: str, *extra: str) -> Command:
    def command(port: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--lifespan",
            "on",
            *extra,
            target,
        ]

    return command


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """Stop the server's whole process group (granian forks its workers)."""
        stop_group(self.process)


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop ``process``, started with ``start_new_session=True``, and its whole group: SIGTERM,
    then SIGKILL for whatever a crashed or stuck main process left behind."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _start(
    name: str, command: Command, port: int, cwd: Path, env: Mapping[str, str], logs: Path
) -> Server:
    log_path = logs / (name.replace("/", "-") + ".log")
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command(port),
            cwd=cwd,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, to stop it with its workers
        )
    return Server(name, port, process, log_path)


def _wait_ready(server: Server, deadline: float) -> None:
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with {server.process.returncode}:\n{server.log()}"
            )
        if _port_open(server.port):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{server.name} did not listen on {server.port} in time:\n{server.log()}")


def _environment(pythonpath: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(pythonpath), env.get("PYTHONPATH", "")) if p
        )
    return env


@contextlib.contextmanager
def running(
    commands: Mapping[str, Command],
    *,
    cwd: Path,
    pythonpath: Path | None = None,
    timeout: float = 30,
) -> Iterator[dict[str, Server]]:
    """Start every server at once, wait until each listens, and stop them all afterwards."""
    env = _environment(pythonpath)
    servers: dict[str, Server] = {}
    with tempfile.TemporaryDirectory(prefix="plait-servers-") as logs:
        try:
            ports: set[int] = set()
            for name, command in commands.items():
                port = free_port()
                while port in ports:
                    port = free_port()
                ports.add(port)
                servers[name] = _start(name, command, port, cwd, env, Path(logs))
            deadline = time.monotonic() + timeout
            for server in servers.values():
                _wait_ready(server, deadline)
            yield servers
        finally:
            for server in servers.values():
                server.stop()


def run_until_exit(
    commands: Mapping[str, Command],
    *,
    cwd: Path,
    pythonpath: Path | None = None,
    timeout: float = 30,
) -> dict[str, tuple[int | None, str]]:
    """Start servers expected to stop by themselves (a failing start-up, say).

    Gives each one's exit code (``None`` if it was still running at the deadline and had
    to be stopped) and its log.
    """
    env = _environment(pythonpath)
    results: dict[str, tuple[int | None, str]] = {}
    with tempfile.TemporaryDirectory(prefix="plait-servers-") as logs:
        servers = [
            _start(name, command, free_port(), cwd, env, Path(logs))
            for name, command in commands.items()
        ]
        deadline = time.monotonic() + timeout
        try:
            for server in servers:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    server.process.wait(timeout=max(0.0, deadline - time.monotonic()))
                results[server.name] = (server.process.poll(), server.log())
        finally:
            for server in servers:
                server.stop()
    return results
