"""What runs where: the framework x server matrix, and server processes started and stopped by PID.

Every server runs in its own session (process group), pinned to one CPU with ``taskset``;
stopping it signals that group, and every group still alive is stopped again at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from plaitbench.wrk import DATA_ENDPOINTS, DATA_PATH

__all__ = [
    "ASGI_FRAMEWORKS",
    "DATA_APPS",
    "FRAMEWORKS",
    "ORM_APPS",
    "SERVERS",
    "WSGI_FRAMEWORKS",
    "Server",
    "ServerError",
    "Target",
    "data_targets",
    "free_port",
    "stop_all",
    "targets",
]

# The ORM apps serve the database endpoints only (the data part): plait.db, FastAPI +
# SQLAlchemy 2 (async), FastAPI + SQLModel, Litestar + Advanced Alchemy, Django's async ORM.
ORM_APPS = ("plaitdb", "fastapidb", "sqlmodeldb", "litestardb", "djangodb")
# The data part's rows: the bare app (raw asyncpg, the ceiling) and the ORM apps.
DATA_APPS = ("bare", *ORM_APPS)
ASGI_FRAMEWORKS = ("bare", "plait", "fastapi", "litestar", "blacksheep", "starlette", *ORM_APPS)
WSGI_FRAMEWORKS = ("flask", "django")
FRAMEWORKS = (*ASGI_FRAMEWORKS, "plait-rsgi", *WSGI_FRAMEWORKS)
SERVERS = ("uvicorn", "granian", "gunicorn")


@dataclass(frozen=True)
class Target:
    """One row of the results: a framework's app on one server."""

    framework: str
    server: str

    @property
    def module(self) -> str:
        return "plait_app" if self.framework == "plait-rsgi" else f"{self.framework}_app"

    @property
    def interface(self) -> str:
        if self.framework == "plait-rsgi":
            return "rsgi"
        return "wsgi" if self.framework in WSGI_FRAMEWORKS else "asgi"

    @property
    def key(self) -> str:
        return f"{self.framework}@{self.server}"

    def serves(self, endpoint: str) -> bool:
        if self.framework in ORM_APPS:
            return endpoint == "plaintext" or endpoint in DATA_ENDPOINTS
        return self.framework == "bare" or endpoint not in DATA_PATH

    def command(self, port: int, bin_dir: Path) -> list[str]:
        target = f"{self.module}:app"
        if self.server == "uvicorn":
            return [
                str(bin_dir / "uvicorn"), target, "--host", "127.0.0.1", "--port", str(port),
                "--loop", "uvloop", "--http", "httptools", "--no-access-log",
                "--log-level", "warning",
            ]  # fmt: skip
        if self.server == "gunicorn":
            return [
                str(bin_dir / "gunicorn"), target, "--bind", f"127.0.0.1:{port}",
                "--workers", "1", "--worker-class", "sync", "--log-level", "warning",
            ]  # fmt: skip
        command = [
            str(bin_dir / "granian"), "--interface", self.interface, "--host", "127.0.0.1",
            "--port", str(port), "--workers", "1", "--http", "1", "--no-ws",
            "--log-level", "warning",
        ]  # fmt: skip
        if self.interface != "wsgi":
            command += ["--loop", "uvloop"]
        return [*command, target]


def targets(frameworks: list[str], servers: list[str]) -> list[Target]:
    """The HTTP part's rows, in order: ASGI apps on uvicorn and granian, plait on RSGI, WSGI
    apps (the ORM apps are the data part's: :func:`data_targets`)."""
    rows = []
    for framework in frameworks:
        if framework in ORM_APPS or framework not in FRAMEWORKS:  # realtime.RT_ONLY: no HTTP
            continue
        if framework == "plait-rsgi":
            choices: tuple[str, ...] = ("granian",)
        elif framework in WSGI_FRAMEWORKS:
            choices = ("gunicorn", "granian")
        else:
            choices = ("uvicorn", "granian")
        rows += [Target(framework, server) for server in choices if server in servers]
    return rows


def data_targets(frameworks: list[str], servers: list[str]) -> list[Target]:
    """The data part's rows: the bare app and the ORM apps, on the ASGI servers."""
    return [
        Target(framework, server)
        for framework in DATA_APPS
        if framework in frameworks
        for server in ("uvicorn", "granian")
        if server in servers
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerError(RuntimeError):
    pass


_LIVE: set[Server] = set()


def stop_all() -> None:
    for server in list(_LIVE):
        server.stop()


atexit.register(stop_all)


def _children(pid: int) -> list[int]:
    found = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as file:
                found += [int(child) for child in file.read().split()]
    return found


def rss_kib(pid: int) -> int:
    """VmRSS of one process, in KiB (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as file:
            for line in file:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process, all its threads (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            fields = file.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    # fields[0] is field 3 of proc(5): utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / _TICK


class Server:
    """A server process group: started pinned to ``cpu``, stopped by its PID, even on errors."""

    def __init__(
        self, target: Target, port: int, *, bin_dir: Path, cwd: Path, env: dict[str, str],
        cpu: str | None, log: Path,
    ) -> None:  # fmt: skip
        self.target = target
        self.port = port
        command = target.command(port, bin_dir)
        self._command = ["taskset", "-c", cpu, *command] if cpu is not None else command
        self._cwd = cwd
        self._env = env
        self._log_path = log
        self._log: IO[bytes] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self.worker: int | None = None

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 60.0) -> float:
        """Spawn the server; seconds from spawn until ``GET /plaintext`` first answers 200."""
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self._log_path.open("wb")
        began = time.perf_counter()
        self._proc = subprocess.Popen(
            self._command, cwd=self._cwd, env=self._env, stdout=self._log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        _LIVE.add(self)
        while True:
            if self._proc.poll() is not None:
                raise ServerError(
                    f"{self.target.key} exited ({self._proc.returncode}): {self.log_tail()}"
                )
            if self._answers():
                elapsed = time.perf_counter() - began
                break
            if time.perf_counter() - began > timeout:
                raise ServerError(
                    f"{self.target.key} did not answer in {timeout:.0f}s: {self.log_tail()}"
                )
            time.sleep(0.005)
        self.worker = self._find_worker()
        return elapsed

    def _answers(self) -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            conn.request("GET", "/plaintext")
            response = conn.getresponse()
            response.read()
            return response.status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def _find_worker(self) -> int:
        """The process that serves: the largest leaf of the tree (uvicorn: the only process)."""
        assert self._proc is not None
        family = [self._proc.pid]
        for pid in family:
            family += [child for child in _children(pid) if child not in family]
        leaves = [pid for pid in family if not _children(pid)]
        return max(leaves or family, key=rss_kib)

    def rss_kib(self) -> int:
        return rss_kib(self.worker) if self.worker else 0

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.worker) if self.worker else 0.0

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self._log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM to the process group, SIGKILL after 10 s; safe to call twice."""
        proc, self._proc = self._proc, None
        _LIVE.discard(self)
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            # Workers that outlived their parent are still in the group.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None
