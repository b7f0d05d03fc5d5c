"""The ``plait`` command: --version, ``routes``, how APP is found, and real servers."""

from __future__ import annotations

import os
import runpy
import sys
import textwrap
from collections.abc import Callable, Iterator
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import plait
from plait import cli

ROOT = Path(__file__).resolve().parent.parent
HELLO = ROOT / "examples" / "hello" / "app.py"


@pytest.fixture(autouse=True)
def _undo_imports(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """The CLI imports apps into this process: forget them (and their sys.path) afterwards."""
    path, modules = list(sys.path), set(sys.modules)
    monkeypatch.setattr(cli.main, "_plugins", {})
    yield
    sys.path[:] = path
    roots = (str(ROOT / "examples"), str(tmp_path_factory.getbasetemp()))
    for name in set(sys.modules) - modules:
        file = getattr(sys.modules[name], "__file__", None) or ""
        if file.startswith(roots):
            del sys.modules[name]


@pytest.fixture
def invoke(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    monkeypatch.delenv("PLAIT_APP", raising=False)
    # `plait run` sets these for the app's workers: undo that after each test.
    for name in ("PLAIT_DEBUG", "PLAIT_BODY_TIMEOUT", "PLAIT_HEADER_TIMEOUT"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    # Servers are replaced by recorders here: the port needn't be free.
    monkeypatch.setattr(cli, "check_port", lambda *args: None)
    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
        return runner.invoke(cli.main, list(args), env=env)

    return invoke


def write(path: Path, source: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


SHOP = """
    from plait import App, Router, WebSocket

    app = App()
    api = Router(prefix="/api")

    @app.get("/")
    def index():
        return "home"

    @app.route("/items/{item_id:int}", methods=["GET", "PUT"], name="item")
    async def get_item(item_id: int):
        return {"id": item_id}

    class Views:
        @staticmethod
        def about():
            return "about"

    app.add_route("/about", Views.about, methods=["GET"])

    @api.post("/orders")
    async def create_order():
        return None

    app.include_router(api)

    @app.websocket("/ws")
    async def chat(websocket: WebSocket):
        await websocket.accept()

    async def legacy(scope, receive, send):
        pass

    app.mount("/legacy", legacy, name="legacy")

    class FilesApp:
        async def __call__(self, scope, receive, send):
            pass

    app.mount("/files", FilesApp())
    value = 42
    router = api
"""


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    write(tmp_path / "shop_app.py", SHOP)
    return tmp_path


# ------------------------------------------------------------------------- --version, help


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(invoke: Callable[..., Result], flag: str) -> None:
    result = invoke(flag)
    assert result.exit_code == 0
    assert result.output == f"plait, version {plait.__version__}\n"


def test_help_lists_the_commands(invoke: Callable[..., Result]) -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    assert "routes" in result.output
    assert "run" in result.output
    assert "PLAIT_APP" in result.output


def test_python_dash_m_runs_the_same_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["plait", "--version"])
    with pytest.raises(SystemExit) as exc_info:
        runpy.run_module("plait", run_name="__main__")
    assert exc_info.value.code == 0
    assert capsys.readouterr().out == f"plait, version {plait.__version__}\n"


# ------------------------------------------------------------------------- plait routes


def test_routes_prints_a_table(invoke: Callable[..., Result], shop: Path) -> None:
    result = invoke("routes", "shop_app:app", "--app-dir", str(shop))
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.output.splitlines()]
    assert lines[0] == ["METHODS", "PATH", "NAME", "HANDLER"]
    assert set("".join(lines[1])) == {"-"}
    assert lines[2:9] == [
        ["GET", "/", "index", "shop_app.index"],
        ["GET,PUT", "/items/{item_id:int}", "item", "shop_app.get_item"],
        ["GET", "/about", "about", "shop_app.Views.about"],
        ["POST", "/api/orders", "create_order", "shop_app.create_order"],
        ["WEBSOCKET", "/ws", "chat", "shop_app.chat"],
        ["MOUNT", "/legacy/...", "legacy", "shop_app.legacy"],
        ["MOUNT", "/files/...", "-", "shop_app.FilesApp"],
    ]
    # The pages the app serves by itself are in the table too.
    assert {"/openapi.json", "/docs", "/redoc"} <= {line[1] for line in lines[9:]}


def test_routes_columns_line_up(invoke: Callable[..., Result], shop: Path) -> None:
    lines = invoke("routes", "shop_app", "--app-dir", str(shop)).output.splitlines()
    start = lines[0].index("PATH")
    assert all(line[start - 2 : start] == "  " for line in lines)
    assert lines[3][start:].startswith("/items/")


@pytest.mark.parametrize(
    ("column", "first_path"),
    [("path", "/"), ("name", "/files/..."), ("methods", "/"), ("handler", "/openapi.json")],
)
def test_routes_sort(
    invoke: Callable[..., Result], shop: Path, column: str, first_path: str
) -> None:
    result = invoke("routes", "shop_app:app", "--app-dir", str(shop), "--sort", column)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[2].split()[1] == first_path


def test_routes_of_an_empty_app(invoke: Callable[..., Result], tmp_path: Path) -> None:
    write(tmp_path / "empty_app.py", "from plait import App\napp = App(openapi_url=None)\n")
    result = invoke("routes", "empty_app", "--app-dir", str(tmp_path))
    assert result.exit_code == 0
    assert result.output == "No routes.\n"


@pytest.mark.parametrize("spec", [f"{HELLO}:app", str(HELLO), "examples/hello/app.py:app"])
def test_routes_of_the_hello_example(
    invoke: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, spec: str
) -> None:
    monkeypatch.chdir(ROOT)
    result = invoke("routes", spec)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[2].split() == ["GET", "/", "index", "app.index"]


def test_app_from_the_environment(invoke: Callable[..., Result], shop: Path) -> None:
    result = invoke("routes", "--app-dir", str(shop), env={"PLAIT_APP": "shop_app:app"})
    assert result.exit_code == 0, result.output
    assert "/api/orders" in result.output


def test_a_file_inside_a_package_is_imported_as_part_of_it(
    invoke: Callable[..., Result], tmp_path: Path
) -> None:
    write(tmp_path / "site_pkg" / "__init__.py", "")
    write(tmp_path / "site_pkg" / "helpers.py", "GREETING = 'hi'\n")
    write(
        tmp_path / "site_pkg" / "web.py",
        """
        from plait import App
        from .helpers import GREETING

        app = App()
        app.add_route("/", lambda: GREETING, name="greet")
        """,
    )
    for spec in (f"{tmp_path}/site_pkg/web.py:app", f"{tmp_path}/site_pkg/web.py"):
        result = invoke("routes", spec)
        assert result.exit_code == 0, result.output
        assert "site_pkg.web.<lambda>" in result.output
    assert cli.load_app(f"{tmp_path}/site_pkg/web.py").import_string == "site_pkg.web:app"
    with pytest.raises(cli.AppLoadError, match="Module 'site_pkg' has no attribute 'app'"):
        cli.load_app(f"{tmp_path}/site_pkg")


# ------------------------------------------------------------------------- bad APP arguments


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (":app", "is not an app"),
        ("shop_app:", "is not an app"),
        ("shop_app:not-a-name", "is not an app"),
        ("shop app:app", "is not a module name"),
        ("no_such_module_for_plait:app", "no module named 'no_such_module_for_plait'"),
        ("no_such_pkg_for_plait.sub:app", "no module named 'no_such_pkg_for_plait'"),
        ("missing_file.py:app", "File 'missing_file.py' does not exist"),
        ("notes.txt/app.py", "does not exist"),
        ("shop_app:nope", "has no attribute 'nope'; it has these apps: app"),
        ("shop_app:value", "shop_app:value is not a plait App (got int)"),
        ("shop_app:router", "(got Router; include it in an App with app.include_router())"),
        ("shop_app:app.missing", "has no attribute 'app.missing'"),
    ],
)
def test_bad_app_is_a_clean_usage_error(
    invoke: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    shop: Path,
    spec: str,
    message: str,
) -> None:
    monkeypatch.chdir(shop)
    for command in ("routes", "run"):
        result = invoke(command, spec)
        assert result.exit_code == 2, result.output
        assert "Error: Invalid value for APP:" in result.output
        assert message in result.output
        assert "Traceback" not in result.output


def test_a_file_that_is_not_python(invoke: Callable[..., Result], tmp_path: Path) -> None:
    write(tmp_path / "notes.txt", "hello")
    result = invoke("routes", f"{tmp_path}/notes.txt:app")
    assert result.exit_code == 2
    assert "is not a Python file" in result.output


def test_a_module_without_apps_gives_no_hint(invoke: Callable[..., Result], tmp_path: Path) -> None:
    write(tmp_path / "plain_mod.py", "x = 1\n")
    result = invoke("routes", "plain_mod", "--app-dir", str(tmp_path))
    assert result.exit_code == 2
    assert "Module 'plain_mod' has no attribute 'app'\n" in result.output


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("raise RuntimeError('boom')\n", "RuntimeError: boom"),
        ("import not_installed_dependency_xyz\n", "No module named 'not_installed_dependency"),
        ("def broken(:\n", "SyntaxError"),
    ],
)
def test_an_error_inside_the_app_shows_its_own_traceback(
    invoke: Callable[..., Result], tmp_path: Path, source: str, error: str
) -> None:
    write(tmp_path / "faulty_app.py", source)
    result = invoke("routes", "faulty_app:app", "--app-dir", str(tmp_path))
    assert result.exit_code == 2
    assert error in result.output
    assert "faulty_app.py" in result.output
    assert "Importing 'faulty_app' failed with" in result.output
    assert "cli.py" not in result.output
    assert "importlib" not in result.output


# ------------------------------------------------------------------------- plait run (in-process)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Recorder:
        self.calls.append((args, kwargs))
        return self

    def serve(self) -> None:
        self.calls.append((("serve",), {}))


def test_run_hands_an_import_string_to_uvicorn(
    invoke: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, shop: Path
) -> None:
    import uvicorn

    recorder = Recorder()
    monkeypatch.setattr(uvicorn, "run", recorder)
    result = invoke(
        "run",
        "shop_app:app",
        "--app-dir",
        str(shop),
        "--host",
        "0.0.0.0",
        "--port",
        "9001",
        "--server",
        "uvicorn",
    )
    assert result.exit_code == 0, result.output
    ((args, kwargs),) = recorder.calls
    assert args == ("shop_app:app",)
    expected = {"host": "0.0.0.0", "port": 9001, "reload": False, "workers": None}
    assert kwargs.items() >= {**expected, "access_log": True, "limit_concurrency": 4096}.items()
    assert kwargs["http"] == "plait._uvicorn:HeaderTimeoutProtocol"
    assert sys.path[0] == str(shop)


@pytest.mark.parametrize(
    ("options", "expected"),
    [(["--reload"], {"reload": True, "workers": None}), (["--workers", "3"], {"workers": 3})],
)
def test_run_passes_reload_and_workers(
    invoke: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    options: list[str],
    expected: dict[str, Any],
) -> None:
    import uvicorn

    recorder = Recorder()
    monkeypatch.setattr(uvicorn, "run", recorder)
    monkeypatch.chdir(ROOT)
    result = invoke("run", "examples/hello/app.py:app", *options, "--server", "uvicorn")
    assert result.exit_code == 0, result.output
    (args, kwargs) = recorder.calls[0]
    assert args == ("app:app",)
    assert kwargs["host"] == "127.0.0.1"
    assert kwargs["port"] == 8000
    assert kwargs.items() >= expected.items()


@pytest.mark.parametrize(
    "options", [["--reload", "--workers", "2"], ["--workers", "0"], ["--port", "70000"]]
)
def test_run_rejects_bad_options(invoke: Callable[..., Result], options: list[str]) -> None:
    result = invoke("run", str(HELLO), *options)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


RSGI_APPS = """
    from plait import App

    class NoRSGI(App):
        __rsgi__ = None

    class WithRSGI(App):
        async def __rsgi__(self, scope, protocol):
            pass

    plain = NoRSGI()
    native = WithRSGI()

    live = App()

    @live.websocket("/ws")
    async def ws(websocket): ...

    mounted = App()
    mounted.mount("/legacy", native)

    mounted_live = App()
    mounted_live.mount("/live", live)
"""


def test_granian_is_the_default_server(
    invoke: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    granian = pytest.importorskip("granian")
    write(tmp_path / "rsgi_apps.py", RSGI_APPS)
    recorder = Recorder()
    monkeypatch.setattr(granian, "Granian", recorder)
    result = invoke("run", "rsgi_apps:native", "--app-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    (_, kwargs), _ = recorder.calls
    assert kwargs["interface"].value == "rsgi"


@pytest.mark.parametrize(
    ("attr", "choice", "interface"),
    [
        # WebSocket routes and mounts keep ASGI: granian's RSGI cannot send close codes.
        ("live", "auto", "asgi"),
        ("mounted", "auto", "asgi"),
        ("live", "rsgi", "rsgi"),
        ("native", "asgi", "asgi"),
        ("native", "auto", "rsgi"),
    ],
)
def test_run_on_granian_interface_choice(
    invoke: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    attr: str,
    choice: str,
    interface: str,
) -> None:
    granian = pytest.importorskip("granian")
    write(tmp_path / "rsgi_apps.py", RSGI_APPS)
    recorder = Recorder()
    monkeypatch.setattr(granian, "Granian", recorder)
    result = invoke(
        "run", f"rsgi_apps:{attr}", "--app-dir", str(tmp_path), "--server", "granian",
        "--interface", choice,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (_, kwargs), _ = recorder.calls
    assert kwargs["interface"].value == interface


@pytest.mark.parametrize(
    ("attr", "options", "server"),
    [
        # Measured (docs/benchmarks.md): uvicorn serves WebSockets fastest, granian HTTP.
        ("live", [], "uvicorn"),
        ("mounted_live", [], "uvicorn"),
        ("mounted", [], "granian"),  # over ASGI: a mounted app might take WebSockets
        ("native", [], "granian"),
        # Options only granian has keep it, with ASGI for WebSocket routes.
        ("live", ["--interface", "asgi"], "granian"),
        ("live", ["--reuse-port"], "granian"),
    ],
)
def test_run_picks_the_server_by_what_the_app_serves(
    invoke: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    attr: str,
    options: list[str],
    server: str,
) -> None:
    granian = pytest.importorskip("granian")
    import uvicorn

    write(tmp_path / "rsgi_apps.py", RSGI_APPS)
    on_granian, on_uvicorn = Recorder(), Recorder()
    monkeypatch.setattr(granian, "Granian", on_granian)
    monkeypatch.setattr(uvicorn, "run", on_uvicorn)
    result = invoke("run", f"rsgi_apps:{attr}", "--app-dir", str(tmp_path), *options)
    assert result.exit_code == 0, result.output
    assert f"on {server}" in result.output
    assert bool(on_uvicorn.calls) == (server == "uvicorn")
    assert bool(on_granian.calls) == (server == "granian")


def test_run_interface_misuse_is_a_usage_error(
    invoke: Callable[..., Result], tmp_path: Path
) -> None:
    write(tmp_path / "rsgi_apps.py", RSGI_APPS)
    result = invoke("run", "rsgi_apps:plain", "--app-dir", str(tmp_path), "--interface", "rsgi")
    assert result.exit_code == 2
    assert "no __rsgi__" in result.output
    result = invoke("run", str(HELLO), "--server", "uvicorn", "--interface", "asgi")
    assert result.exit_code == 2
    assert "granian only" in result.output


@pytest.mark.parametrize(("attr", "interface"), [("plain", "asgi"), ("native", "rsgi")])
def test_run_on_granian_prefers_rsgi(
    invoke: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    attr: str,
    interface: str,
) -> None:
    granian = pytest.importorskip("granian")
    write(tmp_path / "rsgi_apps.py", RSGI_APPS)
    recorder = Recorder()
    monkeypatch.setattr(granian, "Granian", recorder)
    result = invoke("run", f"rsgi_apps:{attr}", "--app-dir", str(tmp_path), "--server", "granian")
    assert result.exit_code == 0, result.output
    (args, kwargs), serve = recorder.calls
    assert args == (f"rsgi_apps:{attr}",)
    assert kwargs["interface"].value == interface
    assert (kwargs["address"], kwargs["port"]) == ("127.0.0.1", 8000)
    assert (kwargs["workers"], kwargs["reload"]) == (1, False)
    assert serve == (("serve",), {})


def test_run_on_granian_without_granian(
    invoke: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "granian", None)
    result = invoke("run", str(HELLO), "--server", "granian")
    assert result.exit_code == 1
    assert "pip install 'plait[granian]'" in result.output
    assert "Traceback" not in result.output


# ------------------------------------------------------------------------- extension commands


def test_commands_from_entry_points(
    invoke: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    write(
        tmp_path / "plait_ext_cmds.py",
        """
        import click

        @click.command()
        @click.argument("name")
        def greet(name):
            '''Say hello.'''
            click.echo(f"hello {name}")

        def not_a_command():
            pass
        """,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    group = cli.ENTRY_POINT_GROUP
    points = [
        EntryPoint("greet", "plait_ext_cmds:greet", group),
        EntryPoint("broken", "plait_missing_ext_xyz:cmd", group),
        EntryPoint("odd", "plait_ext_cmds:not_a_command", group),
        EntryPoint("run", "plait_ext_cmds:greet", group),
    ]
    monkeypatch.setattr(cli, "_discover", lambda: points)

    listing = invoke("--help")
    assert listing.exit_code == 0
    commands = {
        line.split(None, 1)[0]: line.split(None, 1)[1]
        for line in listing.output.split("Commands:")[1].strip().splitlines()
    }
    assert commands["greet"] == "Say hello."
    assert commands["broken"] == "(failed to load)"
    assert commands["odd"] == "(failed to load)"

    result = invoke("greet", "world")
    assert (result.exit_code, result.output) == (0, "hello world\n")
    assert invoke("greet", "again").output == "hello again\n"

    broken = invoke("broken")
    assert broken.exit_code == 1
    assert "'broken' command (plait_missing_ext_xyz:cmd) could not be loaded" in broken.output
    assert "ModuleNotFoundError" in broken.output
    odd = invoke("odd")
    assert odd.exit_code == 1
    assert "it is not a click command" in odd.output

    assert "Serve APP over HTTP" in invoke("run", "--help").output  # built-ins win
    assert invoke("nonexistent").exit_code == 2


def test_add_command_extends_the_group(
    invoke: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    import click

    @click.command("ping")
    def ping() -> None:
        click.echo("pong")

    monkeypatch.setattr(cli.main, "commands", dict(cli.main.commands))
    cli.main.add_command(ping)
    assert invoke("ping").output == "pong\n"


def test_the_installed_entry_point_group_is_discoverable() -> None:
    assert all(ep.group == cli.ENTRY_POINT_GROUP for ep in cli._discover())


def test_run_on_granian_defaults_guard_the_worker(
    invoke: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    granian = pytest.importorskip("granian")
    recorder = Recorder()
    monkeypatch.setattr(granian, "Granian", recorder)
    assert invoke("run", str(HELLO)).exit_code == 0
    (_, kwargs), _ = recorder.calls
    assert kwargs["respawn_failed_workers"] is True
    assert kwargs["backpressure"] == 4096
    assert kwargs["http1_settings"].header_read_timeout == 10_000
    assert kwargs["log_access"] is True

    recorder.calls.clear()
    options = ["--no-respawn", "--no-access-log", "--limit-concurrency", "50"]
    result = invoke("run", str(HELLO), *options, "--header-timeout", "2.5")
    assert result.exit_code == 0, result.output
    (_, kwargs), _ = recorder.calls
    assert kwargs["respawn_failed_workers"] is False
    assert (kwargs["backpressure"], kwargs["log_access"]) == (50, False)
    assert kwargs["http1_settings"].header_read_timeout == 2_500

    recorder.calls.clear()
    assert invoke("run", str(HELLO), "--header-timeout", "0").exit_code == 0
    (_, kwargs), _ = recorder.calls
    assert kwargs["http1_settings"].header_read_timeout >= 3_600_000  # none, not "at once"


def test_run_reload_on_granian_watches_the_app_package(
    invoke: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import multiprocessing

    granian = pytest.importorskip("granian")
    recorder = Recorder()
    monkeypatch.setattr(granian, "Granian", recorder)
    monkeypatch.setattr(multiprocessing, "set_start_method", lambda *a, **k: None)
    write(tmp_path / "proj" / "__init__.py", "")
    write(tmp_path / "proj" / "web" / "__init__.py", "")
    write(tmp_path / "proj" / "web" / "main.py", "from plait import App\napp = App()\n")
    result = invoke("run", "--app", "proj.web.main:app", "--app-dir", str(tmp_path), "--reload")
    assert result.exit_code == 0, result.output
    (_, kwargs), _ = recorder.calls
    assert kwargs["reload_paths"] == [tmp_path / "proj"]
    assert kwargs["reload_ignore_worker_failure"] is True  # broken code waits for a fix
    watch = kwargs["reload_filter"]()
    added = watchfiles_change()
    assert watch(added, str(tmp_path / "proj" / "web" / "main.py"))
    assert watch(added, str(tmp_path / "proj" / "templates" / "page.html"))
    for ignored in ("proj.sqlite3", "proj.sqlite3-journal", "server.log", ".main.py.swp"):
        assert not watch(added, str(tmp_path / "proj" / ignored))
    assert not watch(added, str(tmp_path / "proj" / "__pycache__" / "main.cpython-311.pyc"))

    recorder.calls.clear()
    options = ["--reload-include", "*.toml", "--reload-exclude", "*/skip/*"]
    result = invoke("run", "proj.web.main:app", "--app-dir", str(tmp_path), "--reload", *options)
    assert result.exit_code == 0, result.output
    (_, kwargs), _ = recorder.calls
    watch = kwargs["reload_filter"]()
    assert watch(added, str(tmp_path / "proj" / "settings.toml"))
    assert watch(added, str(tmp_path / "proj" / "main.py"))  # added to the defaults, as uvicorn
    assert not watch(added, str(tmp_path / "proj" / "notes.sqlite3"))
    assert not watch(added, str(tmp_path / "proj" / "skip" / "x.toml"))


def watchfiles_change() -> Any:
    from watchfiles import Change

    return Change.added


def test_run_reload_on_uvicorn_watches_the_same_files(
    invoke: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    recorder = Recorder()
    monkeypatch.setattr(uvicorn, "run", recorder)
    result = invoke("run", str(HELLO), "--server", "uvicorn", "--reload")
    assert result.exit_code == 0, result.output
    ((_, kwargs),) = recorder.calls
    assert kwargs["reload_dirs"] == [str(HELLO.parent)]
    assert "*.py" in kwargs["reload_includes"]
    assert "*.html" in kwargs["reload_includes"]


@pytest.mark.parametrize("command", ["run", "routes", "openapi"])
def test_app_is_given_as_app_option_or_positional(
    invoke: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", Recorder())
    extra = ["--server", "uvicorn"] if command == "run" else []
    by_option = invoke(command, "--app", str(HELLO), *extra)
    by_position = invoke(command, str(HELLO), *extra)
    assert by_option.exit_code == by_position.exit_code == 0, by_option.output
    assert by_option.output == by_position.output
    twice = invoke(command, "--app", str(HELLO), "other:app", *extra)
    assert twice.exit_code == 2
    assert "given twice" in twice.output
    missing = invoke(command, *extra)
    assert missing.exit_code == 2
    assert "--app" in missing.output


def test_run_debug_turns_on_debug_pages(
    invoke: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import uvicorn

    seen: list[bool] = []

    def record(import_string: str, **kwargs: Any) -> None:
        seen.append(sys.modules[import_string.partition(":")[0]].app.debug)

    monkeypatch.setattr(uvicorn, "run", record)
    write(tmp_path / "debug_app.py", "from plait import App\napp = App()\n")
    invoke("run", "debug_app:app", "--app-dir", str(tmp_path), "--server", "uvicorn")
    sys.modules.pop("debug_app")
    invoke("run", "debug_app:app", "--app-dir", str(tmp_path), "--server", "uvicorn", "--debug")
    assert seen == [False, True]
    assert os.environ["PLAIT_DEBUG"] == "1"  # for the workers, which import the app anew


def test_a_battery_without_its_extra_names_the_extra_on_every_subcommand(
    invoke: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # As plait.db does on a core-only install: its package refuses to import without SQLAlchemy.
    write(
        tmp_path / "plait_battery_xyz.py",
        """
        from plait._optional import require

        require("plait_absent_dependency_xyz", "db", "plait.db")
        """,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    points = [EntryPoint("db", "plait_battery_xyz:db", cli.ENTRY_POINT_GROUP)]
    monkeypatch.setattr(cli, "_discover", lambda: points)
    listing = invoke("--help")
    listed = dict(
        line.split(None, 1)
        for line in listing.output.split("Commands:")[1].splitlines()
        if line.strip()
    )
    assert listed["db"] == "(needs plait[db])"
    for args in (["db"], ["db", "migrate"], ["db", "migrate", "--app", "notes:app", "head"]):
        result = invoke(*args)
        assert result.exit_code == 1, result.output
        assert "pip install 'plait[db]'" in result.output
        assert "unexpected extra argument" not in result.output
