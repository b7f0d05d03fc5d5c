"""``plait run`` as a user runs it: real granian and uvicorn processes on free loopback ports.

Reload (broken code, data files), a busy port, the access log, a dead worker, and slow
clients. Each server runs in its own process group, always stopped by that group's id.
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

import plait
from _servers import free_port, stop_group

ROOT = Path(__file__).resolve().parent.parent
HELLO = ROOT / "examples" / "hello" / "app.py"
SERVERS = ["granian", "uvicorn"]

APP = """
import os

from plait import App, Request

app = App()


@app.get("/")
def index():
    return "MESSAGE"


@app.get("/pid")
def pid():
    return str(os.getpid())


@app.post("/echo")
async def echo(request: Request):
    return str(len(await request.body()))
"""


def write_app(path: Path, message: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(APP).replace("MESSAGE", message))
    return path


def plait_command() -> list[str]:
    """The installed ``plait`` console script (the entry point users run)."""
    script = Path(sys.executable).parent / "plait"
    found = str(script) if script.exists() else shutil.which("plait")
    assert found, "the 'plait' command is not installed: pip install -e '.[dev]'"
    return [found]


@dataclass
class Running:
    port: int
    log_path: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def get(self, path: str = "/", timeout: float = 5) -> httpx.Response:
        return httpx.get(self.url + path, timeout=timeout)

    def wait_for(self, path: str, expected: str, timeout: float = 30) -> httpx.Response:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            try:
                response = self.get(path, timeout=2)
                if response.text == expected:
                    return response
                last = response.text
            except httpx.TransportError as exc:
                last = exc
            time.sleep(0.1)
        pytest.fail(f"no {expected!r} from {path} (last: {last!r}); log:\n{self.log()}")

    def wait_for_log(self, pattern: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.log()):
                return
            time.sleep(0.1)
        pytest.fail(f"{pattern!r} never appeared in the log:\n{self.log()}")

    def stop(self) -> None:
        stop_group(self.process)


def run_command(*args: str, port: int) -> list[str]:
    return [*plait_command(), "run", *args, "--port", str(port)]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Running]]:
    """Start ``plait run ...`` on a free port; its own process group, stopped afterwards."""
    started: list[Running] = []

    def start(*args: str, cwd: Path = ROOT, log_dir: Path = tmp_path) -> Running:
        port = free_port()
        log_path = log_dir / f"server-{len(started)}.log"
        with log_path.open("wb") as out:
            process = subprocess.Popen(
                run_command(*args, port=port),
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                start_new_session=True,
            )
        started.append(Running(port, log_path, process))
        return started[-1]

    yield start
    for running in started:
        running.stop()


# ------------------------------------------------------------------------- serving


@pytest.mark.parametrize("server", SERVERS)
def test_plait_run_serves_the_hello_example(serve: Callable[..., Running], server: str) -> None:
    running = serve("examples/hello/app.py:app", "--server", server)
    response = running.wait_for("/", "Hello, World!")
    assert response.headers["content-type"].startswith("text/plain")
    # It says what it serves as the user named it, and where.
    first = running.log().splitlines()[0]
    where = f"at http://127.0.0.1:{running.port}"
    if server == "granian":
        interface = "RSGI" if callable(getattr(plait.App, "__rsgi__", None)) else "ASGI"
        expected = f"on granian over {interface}"
    else:
        expected = "on uvicorn"
    assert first == f"plait: serving examples/hello/app.py:app {where} {expected}"
    assert response.headers["server"] == server  # named by default, as the servers do


@pytest.mark.parametrize(("server", "how"), [("granian", "option"), ("uvicorn", "setting")])
def test_the_server_header_is_removable(
    serve: Callable[..., Running], monkeypatch: pytest.MonkeyPatch, server: str, how: str
) -> None:
    """Issue 12, finding 8: ``--no-server-header`` or ``PLAIT_SERVER_HEADER=0`` leaves one
    empty ``Server`` header (granian 2.8 cannot drop its own; uvicorn's is turned off)."""
    if how == "option":
        running = serve(str(HELLO), "--server", server, "--no-server-header")
    else:
        monkeypatch.setenv("PLAIT_SERVER_HEADER", "0")
        running = serve(str(HELLO), "--server", server)
    response = running.wait_for("/", "Hello, World!")
    assert response.headers.get_list("server") == [""]
    assert running.get("/missing").headers.get_list("server") == [""]


def test_plait_run_with_workers(serve: Callable[..., Running]) -> None:
    running = serve(str(HELLO), "--workers", "2")
    running.wait_for("/", "Hello, World!")


@pytest.mark.parametrize("server", SERVERS)
def test_one_access_log_line_per_request_on_both_servers(
    serve: Callable[..., Running], tmp_path: Path, server: str
) -> None:
    write_app(tmp_path / "site" / "logged_app.py", "hi")
    logged = serve("--app", "logged_app:app", "--server", server, cwd=tmp_path / "site")
    quiet = serve("logged_app:app", "--server", server, "--no-access-log", cwd=tmp_path / "site")
    for running in (logged, quiet):
        running.wait_for("/", "hi")
        assert running.get("/missing?token=secret").status_code == 404
    logged.wait_for_log(r'127\.0\.0\.1 - "GET /missing HTTP/1\.1" 404')
    assert '127.0.0.1 - "GET / HTTP/1.1" 200' in logged.log()
    assert "secret" not in logged.log()  # no query strings: they may carry tokens
    time.sleep(0.3)
    assert '"GET' not in quiet.log()


# ------------------------------------------------------------------------- the port


@pytest.mark.parametrize("second", SERVERS)
def test_a_busy_port_is_a_one_line_error(
    serve: Callable[..., Running], tmp_path: Path, second: str
) -> None:
    first = serve(str(HELLO))
    first.wait_for("/", "Hello, World!")
    write_app(tmp_path / "other_app.py", "other")
    # granian's port reuse would have shared the port and split the requests between apps.
    result = subprocess.run(
        run_command("other_app:app", "--server", second, port=first.port),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    lines = [line for line in output.splitlines() if line.strip()]
    hint = " (or pass --reuse-port to share it)" if second == "granian" else ""
    assert lines == [
        f"Error: Port {first.port} on 127.0.0.1 is already in use: stop the server there or "
        f"choose another --port{hint}"
    ]
    assert all(first.get().text == "Hello, World!" for _ in range(10))


# ------------------------------------------------------------------------- reload


@pytest.mark.parametrize("server", SERVERS)
def test_reload_survives_broken_code_and_ignores_data_files(
    serve: Callable[..., Running], tmp_path: Path, server: str
) -> None:
    site = tmp_path / "site"
    app_file = write_app(site / "live_app.py", "one")
    # Its output goes to a log file in the folder it watches, as `plait run ... > server.log`.
    running = serve("live_app:app", "--reload", "--server", server, cwd=site, log_dir=site)
    running.wait_for("/", "one")
    pid = running.get("/pid").text

    # A SQLite database, its journal and a log file written in the working directory.
    for i in range(10):
        (site / "live.sqlite3").write_bytes(b"SQLite format 3\0" + bytes([i]))
        (site / "live.sqlite3-journal").write_bytes(bytes([i]))
        with (site / "app.log").open("a") as log:
            log.write(f"line {i}\n")
        time.sleep(0.05)
    time.sleep(1.5)
    assert running.get("/pid").text == pid, running.log()

    app_file.write_text("def broken(:\n")
    running.wait_for_log("SyntaxError")
    time.sleep(0.5)
    assert running.process.poll() is None, running.log()

    write_app(app_file, "two")
    running.wait_for("/", "two")
    assert running.process.poll() is None


# ------------------------------------------------------------------------- dead workers


def children(pid: int) -> set[int]:
    """The worker processes of ``pid`` (not multiprocessing's resource tracker)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rpartition(")")[2].split()
            command = (stat.parent / "cmdline").read_bytes()
            if int(fields[1]) == pid and b"resource_tracker" not in command:
                found.add(int(stat.parent.name))
    return found


def wait_for_children(pid: int, count: int, timeout: float = 20) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = children(pid)
        if len(found) == count:
            return found
        time.sleep(0.1)
    pytest.fail(f"{pid} has children {children(pid)}, not {count}")


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds workers through /proc")
@pytest.mark.parametrize("server", SERVERS)
def test_a_killed_worker_is_respawned(
    serve: Callable[..., Running], tmp_path: Path, server: str
) -> None:
    write_app(tmp_path / "site" / "crash_app.py", "up")
    running = serve("crash_app:app", "--workers", "2", "--server", server, cwd=tmp_path / "site")
    running.wait_for("/", "up")
    workers = wait_for_children(running.process.pid, 2)
    victim = min(workers)
    os.kill(victim, signal.SIGKILL)  # as the OOM killer would
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        now = children(running.process.pid)
        if len(now) == 2 and victim not in now:
            break
        time.sleep(0.1)
    assert running.process.poll() is None, running.log()
    assert children(running.process.pid) - workers, running.log()
    assert all(running.get().text == "up" for _ in range(20))


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds workers through /proc")
def test_no_respawn_stops_the_server_when_a_worker_dies(
    serve: Callable[..., Running], tmp_path: Path
) -> None:
    write_app(tmp_path / "site" / "crash_app.py", "up")
    running = serve("crash_app:app", "--no-respawn", cwd=tmp_path / "site")
    running.wait_for("/", "up")
    (worker,) = wait_for_children(running.process.pid, 1)
    os.kill(worker, signal.SIGKILL)
    assert running.process.wait(timeout=20) != 0


# ------------------------------------------------------------------------- slow clients


def slow_connections(port: int, count: int) -> list[socket.socket]:
    """``count`` clients that send headers (or half of them) and then a trickle of body."""
    opened = []
    for i in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        if i % 2:
            sock.sendall(
                b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\nab"
            )
        else:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
        opened.append(sock)
    return opened


@pytest.mark.parametrize("server", SERVERS)
def test_a_worker_keeps_serving_under_1100_slow_connections(
    serve: Callable[..., Running], tmp_path: Path, server: str
) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1500:
        if hard != resource.RLIM_INFINITY and hard < 1500:
            pytest.skip(f"needs 1,500 open files, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (1500, hard))
    write_app(tmp_path / "site" / "slow_app.py", "fine")
    running = serve("slow_app:app", "--server", server, cwd=tmp_path / "site")  # one worker
    running.wait_for("/", "fine")
    opened = slow_connections(running.port, 1100)
    try:
        time.sleep(0.5)  # let the server take them all in
        for _ in range(3):
            started = time.monotonic()
            assert running.get(timeout=10).text == "fine"
            assert httpx.post(running.url + "/echo", content=b"x" * 10, timeout=10).text == "10"
            assert time.monotonic() - started < 2
    finally:
        for sock in opened:
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def read_answer(sock: socket.socket, timeout: float) -> bytes:
    """What the server sends until it closes the connection or ends a response's head."""
    sock.settimeout(timeout)
    data = b""
    with contextlib.suppress(ConnectionResetError):
        while b"\r\n\r\n" not in data and (chunk := sock.recv(4096)):
            data += chunk
    return data


@pytest.mark.parametrize("server", SERVERS)
def test_header_and_body_read_timeouts(
    serve: Callable[..., Running], tmp_path: Path, server: str
) -> None:
    write_app(tmp_path / "site" / "slow_app.py", "fine")
    running = serve(
        "slow_app:app",
        "--server",
        server,
        "--header-timeout",
        "1",
        "--body-timeout",
        "1",
        cwd=tmp_path / "site",
    )
    running.wait_for("/", "fine")
    slow_headers, slow_body = slow_connections(running.port, 2)
    with slow_headers, slow_body:
        started = time.monotonic()
        # Headers that never end: the connection is closed.
        closed = read_answer(slow_headers, 10)
        assert closed == b"" or closed.startswith(b"HTTP/1.1 408 "), closed
        assert time.monotonic() - started < 5
        # A body that stops coming: 408 Request Timeout.
        answer = read_answer(slow_body, 10)
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        assert time.monotonic() - started < 5
