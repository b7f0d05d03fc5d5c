"""``plait client``: the typed clients of examples/todo_api are what the generator writes today,
they type-check (mypy --strict, tsc --noEmit), and the Python one works against the app."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from _servers import granian_command, running
from _services import service_unavailable
from plait import App, cli
from plait.testing import AsyncTestClient, TestClient

ROOT = Path(__file__).resolve().parent.parent
TODO = ROOT / "examples" / "todo_api"


@pytest.fixture(scope="module")
def regenerated() -> Iterator[dict[str, str]]:
    """Both clients as the generator writes them now, run where the committed ones were made
    (``cd examples/todo_api``), printed rather than written."""
    old_cwd, old_path, other = Path.cwd(), list(sys.path), sys.modules.pop("app", None)
    os.chdir(TODO)
    try:
        texts = {}
        for language in ("python", "typescript"):
            result = CliRunner().invoke(cli.main, ["client", "app.py:app", f"--{language}"])
            assert result.exit_code == 0, result.output
            texts[language] = result.output
        yield texts
    finally:
        os.chdir(old_cwd)
        sys.path[:] = old_path
        sys.modules.pop("app", None)
        if other is not None:
            sys.modules["app"] = other


@pytest.mark.parametrize(
    ("language", "name"), [("python", "client.py"), ("typescript", "client.ts")]
)
def test_the_committed_clients_have_not_drifted(
    regenerated: dict[str, str], language: str, name: str
) -> None:
    assert regenerated[language] == (TODO / name).read_text(), (
        f"examples/todo_api/{name} is out of date: regenerate it with "
        f"cd examples/todo_api && plait client app.py:app --{language} -o {name}"
    )


def test_the_python_client_type_checks(tmp_path: Path) -> None:
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path), "client.py"],
        cwd=TODO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def _tsc() -> str | None:
    local = ROOT / ".ci" / "node" / "node_modules" / ".bin" / "tsc"
    return str(local) if local.is_file() else shutil.which("tsc")


NODE_SCRIPT = """
import { Client, NotFoundError, ValidationError } from "./client.js";

const api = new Client({ baseUrl: process.argv[2] });
const todo = await api.createTodo({ title: "from a browser", tags: ["web"] });
const page = await api.listTodos({ tag: "web", limit: 5 });
const done = await api.updateTodo(todo.id, { done: true });
const out = { title: todo.title, priority: todo.priority, total: page.total, done: done.done };
await api.deleteTodo(todo.id);
try {
  await api.getTodo(todo.id);
} catch (error) {
  if (!(error instanceof NotFoundError)) throw error;
  out.notFound = [error.status, error.problem.detail];
}
try {
  await api.createTodo({ title: "" });
} catch (error) {
  if (!(error instanceof ValidationError)) throw error;
  out.invalid = error.errors.map((e) => e.loc);
}
console.log(JSON.stringify(out));
"""


def test_the_typescript_client_type_checks_and_talks_to_the_app(tmp_path: Path) -> None:
    tsc, node = _tsc(), shutil.which("node")
    if tsc is None or node is None:
        service_unavailable("tsc", "node or TypeScript is not installed (.ci/run installs both)")
        return
    options = ["--strict", "--target", "es2022", "--module", "es2022", "--lib", "es2022,dom"]
    checked = subprocess.run(
        [tsc, "--noEmit", *options, str(TODO / "client.ts")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # Then compiled, and run by node against the app on a real server.
    built = subprocess.run(
        [tsc, *options, "--outDir", str(tmp_path), str(TODO / "client.ts")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (tmp_path / "package.json").write_text('{"type": "module"}')
    (tmp_path / "main.js").write_text(NODE_SCRIPT)
    with running({"todo": granian_command("asgi", "app:app")}, cwd=TODO) as servers:
        ran = subprocess.run(
            [node, "main.js", servers["todo"].url],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == {
        "title": "from a browser",
        "priority": "normal",
        "total": 1,
        "done": True,
        "notFound": [404, "No to-do with id 1"],  # a fresh server's first to-do
        "invalid": [["body", "title"]],
    }


def _client_module() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("todo_api_client", TODO / "client.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # msgspec resolves the Structs' annotations through it
    spec.loader.exec_module(module)
    return module


def _todo_app() -> App:
    from test_examples import load_example

    app: App = load_example(TODO / "app.py").app
    return app


def test_the_python_client_talks_to_the_app() -> None:
    api = _client_module()
    with TestClient(_todo_app()) as http, api.Client(http=http) as client:
        created = client.create_todo(api.TodoIn(title="write docs", tags=["work"]))
        assert isinstance(created, api.Todo)
        assert created.priority is api.Priority.NORMAL
        assert client.get_todo(created.id) == created
        page = client.list_todos(tag="work", limit=5)
        assert isinstance(page, api.TodoPage)
        assert created in page.items
        done = client.update_todo(created.id, api.TodoPatch(done=True))
        assert done.done is True
        assert done.title == "write docs"  # UNSET fields were not sent
        client.delete_todo(created.id)
        with pytest.raises(api.NotFoundError) as missing:
            client.get_todo(created.id)
        assert missing.value.status == 404
        assert isinstance(missing.value.problem, api.Problem)
        assert missing.value.problem.detail == f"No to-do with id {created.id}"
        with pytest.raises(api.ValidationError) as invalid:
            client.create_todo(api.TodoIn(title=""))
        assert [error.loc for error in invalid.value.errors] == [["body", "title"]]
        assert isinstance(invalid.value, api.ApiError)


def test_the_async_client_too() -> None:
    api = _client_module()

    async def main() -> Any:
        async with AsyncTestClient(_todo_app()) as http, api.AsyncClient(http=http) as client:
            created = await client.create_todo(api.TodoIn(title="async"))
            with pytest.raises(api.ValidationError):
                await client.list_todos(limit=1000)
            return await client.get_todo(created.id)

    assert asyncio.run(main()).title == "async"


def test_structs_of_a_package_are_imported_not_copied(tmp_path: Path) -> None:
    package = tmp_path / "shopapi"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "schemas.py").write_text(
        "import msgspec\n\n\nclass Item(msgspec.Struct):\n    name: str\n    price: float\n"
    )
    (package / "app.py").write_text(
        "from plait import App\n"
        "from shopapi.schemas import Item\n\n"
        "app = App()\n\n\n"
        "@app.post('/items', status_code=201)\n"
        "def add(item: Item) -> Item:\n"
        "    return item\n"
    )
    args = ["client", "shopapi.app:app", "--app-dir", str(tmp_path), "--python"]
    try:
        reused = CliRunner().invoke(cli.main, args)
        copied = CliRunner().invoke(cli.main, [*args, "--generate-models"])
    finally:
        for name in [name for name in sys.modules if name.startswith("shopapi")]:
            del sys.modules[name]
        sys.path.remove(str(tmp_path))
    assert "from shopapi.schemas import Item" in reused.output
    assert "class Item(" not in reused.output
    assert "def add(self, body: Item) -> Item:" in reused.output
    assert "class Item(msgspec.Struct" in copied.output
    assert "from shopapi" not in copied.output


def test_a_language_is_required() -> None:
    result = CliRunner().invoke(cli.main, ["client", "examples/todo_api/app.py:app"])
    assert result.exit_code == 2
    assert "--python or --typescript" in result.output
