"""The README's quickstart and docs/getting-started.md, run as a new user runs them.

One virtualenv per test session, made with exactly the commands the two pages give (the
only change: ``.`` is this checkout's path, since the commands run in a temporary directory).
In it, the README's files are written as the page names them, ``plait run`` serves them and
``python -m pytest`` passes; getting-started's code runs there too, its documented
``plait run`` output is compared with the real one, and the core install (no ``db`` extra)
names the extra that ``plait db`` needs.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from _docs import DOCS, ROOT, run_page
from _servers import free_port

README = ROOT / "README.md"
GETTING_STARTED = DOCS / "getting-started.md"
INSTALL = ["python3 -m venv .venv && . .venv/bin/activate", "pip install -e '.[testing]'"]
CONSOLE = re.compile(r"^```console\n(.*?)^```", re.MULTILINE | re.DOTALL)
PYTHON = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def console_blocks(page: Path) -> list[list[str]]:
    return [match.group(1).splitlines() for match in CONSOLE.finditer(page.read_text())]


def commands(block: list[str]) -> list[str]:
    return [line[2:] for line in block if line.startswith("$ ")]


def install_commands(page: Path) -> list[str]:
    (block,) = [b for b in console_blocks(page) if any("-m venv" in line for line in b)]
    return commands(block)


def files_of(page: Path) -> dict[str, str]:
    """The page's python blocks by the file each one names in its first line (``# hello.py``);
    a second block naming a file adds to it."""
    files: dict[str, str] = {}
    for match in PYTHON.finditer(page.read_text()):
        first, _, code = match.group(1).partition("\n")
        name = first.removeprefix("# ").strip()
        problem = f"{page.name}: a python block starts with the file it belongs to: {first!r}"
        assert first.startswith("# "), problem
        assert name.endswith(".py"), problem
        files[name] = files.get(name, "") + code + "\n"
    return files


def start_venv(home: Path) -> subprocess.Popen[str]:
    """Start making the quickstart's virtualenv in ``home`` with the README's commands."""
    script = " && ".join(INSTALL).replace("'.[testing]'", f"'{ROOT}[testing]'")
    env = {
        key: value for key, value in os.environ.items() if key not in {"VIRTUAL_ENV", "PYTHONPATH"}
    }
    # `python3` is the interpreter running these tests (the one CI and `make test` chose).
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.Popen(
        ["bash", "-c", script],
        cwd=home,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


_early: list[tuple[Path, subprocess.Popen[str]]] = []


def start_early() -> None:
    """Start the virtualenv as the session starts (tests/conftest.py calls this when a test
    here is selected): its ~35 s of pip then overlap the tests that run before these."""
    home = Path(tempfile.mkdtemp(prefix="plait-quickstart-"))
    _early.append((home, start_venv(home)))


def stop_early() -> None:
    """Stop a virtualenv build no test waited for (the session ended first), and clean up."""
    for home, process in _early:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
        shutil.rmtree(home, ignore_errors=True)
    _early.clear()


@pytest.fixture(scope="session")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The virtualenv the quickstart makes (its ``bin`` directory), once per session."""
    assert install_commands(README) == INSTALL
    assert install_commands(GETTING_STARTED) == INSTALL
    if _early:
        home, process = _early[0]
    else:
        home = tmp_path_factory.mktemp("quickstart")
        process = start_venv(home)
    output, _ = process.communicate(timeout=480)
    assert process.returncode == 0, output
    return home / ".venv" / "bin"


def venv_env(bin_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in {"PYTHONPATH"}}
    env.update(VIRTUAL_ENV=str(bin_dir.parent), PATH=f"{bin_dir}{os.pathsep}{env['PATH']}")
    env["PYTHONUNBUFFERED"] = "1"
    for name in ("PLAIT_DEBUG", "PLAIT_BODY_TIMEOUT", "PLAIT_HEADER_TIMEOUT", "PLAIT_APP"):
        env.pop(name, None)
    return env


@contextlib.contextmanager
def plait_run(bin_dir: Path, command: str, cwd: Path) -> Iterator[tuple[int, Path]]:
    """Run a documented ``plait run ...`` command on a free port; stop its process group."""
    port = free_port()
    args = command.split()
    assert args[:2] == ["plait", "run"], command
    log = cwd / "plait-run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(bin_dir / "plait"), *args[1:], "--port", str(port)],
            cwd=cwd,
            env=venv_env(bin_dir),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        yield port, log
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def get_when_up(port: int, log: Path, path: str = "/") -> httpx.Response:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5)
        time.sleep(0.1)
    pytest.fail(f"nothing on port {port}:\n{log.read_text()}")


@pytest.mark.timeout(600)
def test_the_readme_quickstart_runs_as_written(venv: Path, tmp_path: Path) -> None:
    for name, code in files_of(README).items():
        (tmp_path / name).write_text(code)
    block = next(b for b in console_blocks(README) if any("plait run" in line for line in b))
    run, curl = block[:2]
    assert curl == "$ curl http://127.0.0.1:8000/"
    with plait_run(venv, run.removeprefix("$ "), tmp_path) as (port, log):
        response = get_when_up(port, log)
        assert response.text == "Hello, World!"
    result = subprocess.run(
        [str(venv / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env=venv_env(venv),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def normalize(line: str, port: int) -> str:
    return re.sub(r"\d+", "N", line.replace(f":{port}", ":8000"))


@pytest.mark.timeout(600)
def test_getting_started_runs_in_the_quickstart_venv(venv: Path, tmp_path: Path) -> None:
    ran = run_page(GETTING_STARTED, directory=tmp_path, isolated=True, python=venv / "python")
    assert ran.blocks >= 5
    assert ran.tests >= 1


@pytest.mark.timeout(600)
def test_the_documented_plait_run_output_is_the_real_one(venv: Path, tmp_path: Path) -> None:
    (hello, *_) = PYTHON.findall(GETTING_STARTED.read_text())
    (tmp_path / "hello.py").write_text(hello)
    (block,) = [b for b in console_blocks(GETTING_STARTED) if b[0] == "$ plait run hello:app"]
    documented = block[1:]
    with plait_run(venv, "plait run hello:app", tmp_path) as (port, log):
        assert get_when_up(port, log).text == "Hello, World!"
        deadline = time.monotonic() + 10
        while '"GET / HTTP/1.1" 200' not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        real = [normalize(line, port) for line in log.read_text().splitlines()]
    assert [normalize(line, 8000) for line in documented] == real[: len(documented)]


@pytest.mark.timeout(600)
def test_a_core_install_names_the_extra_a_command_needs(venv: Path, tmp_path: Path) -> None:
    plait = str(venv / "plait")
    env = venv_env(venv)
    listing = subprocess.run(
        [plait, "--help"], capture_output=True, text=True, env=env, timeout=60, check=True
    )
    assert re.search(r"^\s+db\s+\(needs plait\[db\]\)$", listing.stdout, re.MULTILINE)
    result = subprocess.run(
        [plait, "db", "migrate", "--app", "hello:app"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].endswith("pip install 'plait[db]'")
    assert "unexpected extra argument" not in result.stderr
