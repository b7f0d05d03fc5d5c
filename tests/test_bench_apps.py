"""Every app of the benchmark suite answers every endpoint correctly.

The benchmark itself (``bench/run.py``) is not a timed test; this only makes sure each app
under ``bench/apps/`` does the same work, so the numbers compare like with like. The apps
run in-process: ASGI apps through ``httpx.ASGITransport`` with their lifespan driven by hand,
WSGI apps through ``httpx.WSGITransport``. The ``peers`` extra (part of ``dev``) installs
every peer framework; one that is missing skips its app, or fails it under CI
(``PLAIT_REQUIRE_SERVICES=1``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import html
import importlib.util
import json
import os
import re
import subprocess
import sys
import uuid
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from _services import POSTGRES_URL, postgres_execute, require_postgres, service_unavailable

APPS = Path(__file__).resolve().parent.parent / "bench" / "apps"

# framework -> (the package it needs, whether the app is WSGI)
FRAMEWORKS: dict[str, tuple[str | None, bool]] = {
    "bare": (None, False),
    "plait": (None, False),
    "plaitdb": ("sqlalchemy", False),
    "fastapidb": ("fastapi", False),
    "sqlmodeldb": ("sqlmodel", False),
    "litestardb": ("advanced_alchemy", False),
    # ASGI, but driven in a process of its own (test_djangodb_app_answers): Django's settings
    # are global to a process, and the WSGI app configures them otherwise.
    "djangodb": ("django", True),
    "fastapi": ("fastapi", False),
    "litestar": ("litestar", False),
    "blacksheep": ("blacksheep", False),
    "starlette": ("starlette", False),
    "flask": ("flask", True),
    "django": ("django", True),
    "channels": ("channels", False),  # Django Channels: the real-time endpoints only
}
REALTIME_ONLY = ("channels",)

ORDER = {
    "customer": {"name": "Ada", "email": "ada@example.com"},
    "items": [{"sku": "A1", "qty": 2, "price": 2.5}, {"sku": "B2", "qty": 1, "price": 10.0}],
    "note": None,
}
JAPANESE_FORTUNE = "フレームワークのベンチマーク"
ROW = re.compile(r"<tr><td>(\d+)</td><td>(.*?)</td></tr>")


# fetch(method, url, **httpx request options) -> response
Fetch = Callable[..., Awaitable[httpx.Response]]
Check = Callable[[Fetch], Coroutine[Any, Any, None]]


@pytest.fixture(scope="session")
def bench_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh SQLite file with the TechEmpower tables, for every app's DB endpoints."""
    path = tmp_path_factory.mktemp("bench") / "bench.sqlite3"
    db_module = _load_module("benchdb", APPS / "benchdb.py")
    db_module.create_sqlite(path)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BENCH_DB", "sqlite")
        mp.setenv("BENCH_SQLITE", str(path))
        yield path


def _load_module(name: str, path: Path) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs: Django's settings name the module as their URLconf.
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


@functools.cache
def _load_app(framework: str) -> ModuleType:
    """Import ``bench/apps/<framework>_app.py`` once; the apps import ``benchdb`` beside them."""
    if str(APPS) not in sys.path:
        sys.path.append(str(APPS))
    _load_module("benchdb", APPS / "benchdb.py")
    name = f"bench_{framework}_app"
    if FRAMEWORKS[framework][0] is None:
        return _load_module(name, APPS / f"{framework}_app.py")
    # A peer's own deprecation noise is not this suite's business.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return _load_module(name, APPS / f"{framework}_app.py")


@asynccontextmanager
async def _lifespan(app: Any) -> AsyncIterator[None]:
    """Run an ASGI app's lifespan start-up and shutdown around the block, as a server would."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
    task = asyncio.create_task(app(scope, inbox.get, outbox.put))

    async def step(message: str) -> None:
        await inbox.put({"type": message})
        reply = asyncio.create_task(outbox.get())
        done, _ = await asyncio.wait({task, reply}, timeout=10, return_when="FIRST_COMPLETED")
        if reply not in done:
            reply.cancel()
            if task in done:
                task.result()  # raises the app's own error, if it had one
            pytest.fail(f"no answer to {message}")
        assert reply.result()["type"] == f"{message}.complete", reply.result()

    await step("lifespan.startup")
    try:
        yield
    finally:
        await step("lifespan.shutdown")
        await asyncio.wait_for(task, 10)


class _Served:
    """An ASGI app started once, as a server would: one event loop, lifespan up until closed."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._runner = asyncio.Runner()
        self._stack = AsyncExitStack()
        self._client: httpx.AsyncClient | None = None
        self._runner.run(self._start())

    async def _start(self) -> None:
        await self._stack.enter_async_context(_lifespan(self._app))
        transport = httpx.ASGITransport(app=self._app)
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        self._client = await self._stack.enter_async_context(client)

    def check(self, check: Check) -> None:
        assert self._client is not None
        self._runner.run(check(self._client.request))

    def run(self, check: Callable[[Any], Coroutine[Any, Any, None]]) -> None:
        """Run ``check(app)`` in the app's event loop (the real-time checks drive ASGI)."""
        self._runner.run(asyncio.wait_for(check(self._app), 10))

    def close(self) -> None:
        try:
            self._runner.run(self._stack.aclose())
        finally:
            self._runner.close()


@pytest.fixture(scope="session")
def served(bench_db: Path) -> Iterator[dict[str, _Served]]:
    """ASGI apps by framework, each started on first use and shut down at the end."""
    apps: dict[str, _Served] = {}
    yield apps
    for app in apps.values():
        app.close()
    if "plaitdb" in apps:  # its models' tables leave plait.db's shared metadata again
        from plait.db import Model

        for table in ("world", "fortune", "city", "country"):
            if table in Model.metadata.tables:
                Model.metadata.remove(Model.metadata.tables[table])


def _drive(framework: str, check: Check, served: dict[str, _Served]) -> None:
    package, wsgi = FRAMEWORKS[framework]
    if package is not None and importlib.util.find_spec(package) is None:
        service_unavailable(package, "not installed: pip install -e '.[dev]' (the peers extra)")
    app = _load_app(framework).app
    if not wsgi:
        if framework not in served:
            served[framework] = _Served(app)
        served[framework].check(check)
        return
    with httpx.Client(
        transport=httpx.WSGITransport(app=app), base_url="http://testserver"
    ) as client:

        async def fetch(method: str, url: str, **kwargs: Any) -> httpx.Response:
            # WSGI apps answer synchronously; the checks are shared with the ASGI apps.
            return client.request(method, url, **kwargs)  # noqa: ASYNC212

        asyncio.run(check(fetch))


def _is_client_error(response: httpx.Response) -> bool:
    return 400 <= response.status_code < 500


async def check_plaintext(fetch: Fetch) -> None:
    response = await fetch("GET", "/plaintext")
    assert response.status_code == 200
    assert response.text == "Hello, World!"
    assert response.headers["content-type"].startswith("text/plain")


async def check_json(fetch: Fetch) -> None:
    response = await fetch("GET", "/json")
    assert response.status_code == 200
    assert response.json() == {"message": "Hello, World!"}
    assert response.headers["content-type"].startswith("application/json")


async def check_items(fetch: Fetch) -> None:
    response = await fetch("GET", "/items/42?q=hello%20world&limit=5")
    assert response.status_code == 200
    assert response.json() == {"item_id": 42, "q": "hello world", "limit": 5}
    response = await fetch("GET", "/items/7")
    assert response.status_code == 200
    assert response.json() == {"item_id": 7, "q": None, "limit": 10}
    for url in ("/items/1?limit=abc", "/items/1?limit=0", "/items/1?limit=101"):
        response = await fetch("GET", url)
        assert response.status_code in (400, 422), url
    # A converter in the route may answer 404 here (Starlette, Flask, Django): still a 4xx.
    assert _is_client_error(await fetch("GET", "/items/abc"))


async def check_orders(fetch: Fetch) -> None:
    response = await fetch("POST", "/orders", json=ORDER)
    assert response.status_code == 201
    assert response.json() == {"customer": "Ada", "item_count": 2, "total": 15.0}
    bad_qty = {**ORDER, "items": [{"sku": "A1", "qty": 0, "price": 2.5}]}
    no_email = {**ORDER, "customer": {"name": "Ada"}}
    invalid: list[dict[str, Any]] = [bad_qty, no_email, {"items": []}]
    for body in invalid:
        assert _is_client_error(await fetch("POST", "/orders", json=body)), body
    malformed = await fetch(
        "POST", "/orders", content=b"{", headers={"content-type": "application/json"}
    )
    assert _is_client_error(malformed)


def _assert_world(row: Any) -> None:
    assert set(row) == {"id", "randomNumber"}
    assert 1 <= row["id"] <= 10_000
    assert 1 <= row["randomNumber"] <= 10_000


async def check_db(fetch: Fetch) -> None:
    response = await fetch("GET", "/db")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    _assert_world(response.json())


async def check_queries(fetch: Fetch) -> None:
    for query, count in (("20", 20), ("foo", 1), ("0", 1), ("501", 500)):
        response = await fetch("GET", f"/queries?queries={query}")
        assert response.status_code == 200
        rows = response.json()
        assert len(rows) == count, query
        for row in rows:
            _assert_world(row)


async def check_fortunes(fetch: Fetch) -> None:
    response = await fetch("GET", "/fortunes")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    body = response.text
    assert "<script>" not in body
    assert "&lt;script&gt;" in body
    rows = [(int(id_), html.unescape(message)) for id_, message in ROW.findall(body)]
    assert len(rows) == 13
    assert (0, "Additional fortune added at request time.") in rows
    assert (12, JAPANESE_FORTUNE) in rows
    messages = [message for _, message in rows]
    assert messages == sorted(messages)


async def check_upload(fetch: Fetch) -> None:
    body = b"x" * (1 << 20)
    headers = {"content-type": "application/octet-stream"}
    response = await fetch("POST", "/upload", content=body, headers=headers)
    assert response.status_code == 200
    assert response.json() == {"size": 1 << 20}


async def check_crud_get(fetch: Fetch) -> None:
    response = await fetch("GET", "/worlds/42")
    assert response.status_code == 200
    assert response.json()["id"] == 42
    _assert_world(response.json())
    assert (await fetch("GET", "/worlds/99999999")).status_code == 404


async def check_related(fetch: Fetch) -> None:
    response = await fetch("GET", "/cities")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    cities = response.json()
    assert len(cities) == 20
    first = cities[0]["id"]
    assert [city["id"] for city in cities] == list(range(first, first + 20))
    for city in cities:  # the rows benchdb seeds: "City 7" in "Country 3"
        assert set(city) == {"id", "name", "country_id", "country"}
        assert city["name"] == f"City {city['id']}"
        country = city["country_id"]
        assert city["country"] == {"id": country, "name": f"Country {country}"}
    assert len({city["country_id"] for city in cities}) > 1


async def check_create(fetch: Fetch) -> None:
    response = await fetch("POST", "/worlds", json={"randomNumber": 4242})
    assert response.status_code == 201
    made = response.json()
    assert made["randomNumber"] == 4242
    assert (await fetch("GET", f"/worlds/{made['id']}")).json() == made
    # 422, or 400 where the framework says so for invalid bodies (Litestar)
    assert _is_client_error(await fetch("POST", "/worlds", json={"randomNumber": "x"}))


async def check_updates(fetch: Fetch) -> None:
    response = await fetch("GET", "/updates?queries=20")
    assert response.status_code == 200
    rows = response.json()
    assert len(rows) == 20
    for row in rows:  # what was sent is what was stored
        _assert_world(row)
        assert (await fetch("GET", f"/worlds/{row['id']}")).json() == row
    assert len((await fetch("GET", "/updates?queries=abc")).json()) == 1


CHECKS: dict[str, Check] = {
    "plaintext": check_plaintext,
    "json": check_json,
    "items": check_items,
    "orders": check_orders,
    "db": check_db,
    "queries": check_queries,
    "fortunes": check_fortunes,
    "upload": check_upload,
    "crud-get": check_crud_get,
    "related": check_related,
    "create": check_create,
    "updates": check_updates,
}
# The ORM apps serve the database endpoints, the bare app (the ceiling) every endpoint, the
# others all but the data path.
ORM_APPS = ("plaitdb", "fastapidb", "sqlmodeldb", "litestardb", "djangodb")
DATA_PATH = ("crud-get", "related", "create", "updates")
DB_ENDPOINTS = ("plaintext", "db", "queries", "fortunes", *DATA_PATH)


def _serves(framework: str, endpoint: str) -> bool:
    if framework in ORM_APPS:
        return endpoint in DB_ENDPOINTS
    return framework == "bare" or endpoint not in DATA_PATH


CASES = [
    (framework, endpoint)
    for framework in FRAMEWORKS
    if framework != "djangodb" and framework not in REALTIME_ONLY
    for endpoint in CHECKS
    if _serves(framework, endpoint)
]


@pytest.mark.parametrize(("framework", "endpoint"), CASES)
def test_bench_app_answers(framework: str, endpoint: str, served: dict[str, _Served]) -> None:
    _drive(framework, CHECKS[endpoint], served)


@pytest.mark.parametrize("endpoint", ["db", "queries", "related", "fortunes"])
def test_plaitdb_orm_twins_answer_alike(endpoint: str, served: dict[str, _Served]) -> None:
    """plaitdb's ``/orm/...`` reads (ORM objects, for bench/db_probe.py) answer as its
    endpoints that read rows straight into schemas."""

    async def check(fetch: Fetch) -> None:
        async def twin(method: str, url: str, **kwargs: Any) -> httpx.Response:
            return await fetch(method, "/orm" + url, **kwargs)

        await CHECKS[endpoint](twin)

    _drive("plaitdb", check, served)


@contextlib.contextmanager
def _postgres_schema() -> Iterator[str]:
    """A DSN whose tables live in a PostgreSQL schema of this test's own, seeded by benchdb
    (a schema, not a database: it is dropped in a tenth of the time)."""
    require_postgres()
    if importlib.util.find_spec("psycopg") is None:  # benchdb seeds PostgreSQL with it
        service_unavailable("psycopg", "not installed: pip install -e '.[dev]' (the peers extra)")
    schema = f"bench_apps_{uuid.uuid4().hex[:10]}"
    postgres_execute(POSTGRES_URL, f"CREATE SCHEMA {schema}")
    try:
        dsn = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")
        dsn += f"?options=-csearch_path%3D{schema}"
        _load_module("benchdb", APPS / "benchdb.py").create_postgres(dsn)
        yield dsn
    finally:
        postgres_execute(POSTGRES_URL, f"DROP SCHEMA {schema} CASCADE")


def test_bare_data_path_on_postgres(bench_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ceiling's own SQL for PostgreSQL (asyncpg), which SQLite never runs."""
    with _postgres_schema() as dsn:
        monkeypatch.setenv("BENCH_DB", "postgres")
        monkeypatch.setenv("BENCH_PG_DSN", dsn)
        # A second copy of the bare app: its pool opens at start-up, on PostgreSQL this time.
        app = _Served(_load_module("bench_bare_pg_app", APPS / "bare_app.py").app)
        try:
            for endpoint in ("db", "queries", "fortunes", *DATA_PATH):
                app.check(CHECKS[endpoint])
        finally:
            app.close()


# Loads this module's checks beside the app (argv: tests/, bench/apps/) and runs every
# database check on it over ASGI (Django's ASGI handler has no lifespan to drive).
_DJANGODB_DRIVER = """
import asyncio, importlib.util, sys
tests, apps = sys.argv[1:3]
sys.path[:0] = [tests, apps]
spec = importlib.util.spec_from_file_location("bench_app_checks", f"{tests}/test_bench_apps.py")
checks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(checks)
import httpx, djangodb_app

async def main():
    transport = httpx.ASGITransport(app=djangodb_app.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for name in checks.DB_ENDPOINTS:
            await checks.CHECKS[name](client.request)

asyncio.run(main())
"""


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_djangodb_app_answers(bench_db: Path, database: str) -> None:
    """Django's async ORM app: SQLite (sqlite3) and PostgreSQL (psycopg 3, Django's pool)."""
    for package in ("django", *(("psycopg_pool",) if database == "postgres" else ())):
        if importlib.util.find_spec(package) is None:
            service_unavailable(package, "not installed: pip install -e '.[dev]' (the peers extra)")
    with contextlib.ExitStack() as stack:
        env = {**os.environ, "BENCH_DB": database, "PYTHONWARNINGS": "error::RuntimeWarning"}
        if database == "postgres":
            env["BENCH_PG_DSN"] = stack.enter_context(_postgres_schema())
        tests = Path(__file__).resolve().parent
        done = subprocess.run(
            [sys.executable, "-c", _DJANGODB_DRIVER, str(tests), str(APPS)],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]


# ------------------------------------------------------------------------------ real time
# /ws/echo, /ws/json, /ws/room (a chat room) and /sse/room + POST /sse/publish, driven over
# ASGI in the app's own event loop, as a server would (httpx has no WebSocket transport).

REALTIME = [name for name, (_, wsgi) in FRAMEWORKS.items() if not wsgi and name not in ORM_APPS]


class _Peer:
    """One ASGI connection to ``app``: a queue of what the client sends, a list of what it got."""

    def __init__(self, app: Any, scope: dict[str, Any], first: dict[str, Any]) -> None:
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.inbox.put_nowait(first)
        self.got: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()
        self.task = asyncio.create_task(app(scope, self.inbox.get, self._send))

    async def _send(self, message: dict[str, Any]) -> None:
        self.got.append(message)
        self.arrived.set()

    async def wait_for(self, count: int, kind: str) -> list[dict[str, Any]]:
        while sum(m["type"] == kind for m in self.got) < count:
            self.arrived.clear()
            await self.arrived.wait()
        return [m for m in self.got if m["type"] == kind]

    async def close(self, disconnect: dict[str, Any]) -> None:
        self.inbox.put_nowait(disconnect)
        # An idle event stream may only notice at its next send (BlackSheep): a server
        # cancels what is left of it when the connection is gone.
        await asyncio.wait([self.task], timeout=0.5)
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


def _ws(app: Any, path: str) -> _Peer:
    scope = {
        "type": "websocket", "asgi": {"version": "3.0"}, "http_version": "1.1", "scheme": "ws",
        "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
        "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80), "subprotocols": [], "state": {},
    }  # fmt: skip
    return _Peer(app, scope, {"type": "websocket.connect"})


def _http(app: Any, method: str, path: str, body: bytes = b"") -> _Peer:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "scheme": "http",
        "method": method, "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": b"", "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
        "headers": [(b"host", b"testserver"), (b"content-type", b"text/plain"),
                    (b"content-length", str(len(body)).encode())],
        "state": {},
    }  # fmt: skip
    return _Peer(app, scope, {"type": "http.request", "body": body, "more_body": False})


def _text(message: dict[str, Any]) -> str:
    return message.get("text") or message["bytes"].decode()


async def check_ws_echo(app: Any) -> None:
    peer = _ws(app, "/ws/echo")
    await peer.wait_for(1, "websocket.accept")
    for n, text in enumerate(["hello", "é" * 100]):
        peer.inbox.put_nowait({"type": "websocket.receive", "text": text})
        assert _text((await peer.wait_for(n + 1, "websocket.send"))[-1]) == text
    await peer.close({"type": "websocket.disconnect", "code": 1000})


async def check_ws_json(app: Any) -> None:
    peer = _ws(app, "/ws/json")
    await peer.wait_for(1, "websocket.accept")
    doc = {"message": "Hello, World!", "n": 42, "tags": ["fast", "typed"]}
    peer.inbox.put_nowait({"type": "websocket.receive", "text": json.dumps(doc)})
    assert json.loads(_text((await peer.wait_for(1, "websocket.send"))[0])) == doc
    await peer.close({"type": "websocket.disconnect", "code": 1000})


async def check_ws_room(app: Any) -> None:
    members = [_ws(app, "/ws/room") for _ in range(3)]
    for member in members:
        await member.wait_for(1, "websocket.accept")
    await asyncio.sleep(0.05)  # every member has joined (Litestar subscribes in a task)
    for text in ("one", "two"):
        members[1].inbox.put_nowait({"type": "websocket.receive", "text": text})
    for member in members:  # the sender too, in order
        assert [_text(m) for m in await member.wait_for(2, "websocket.send")] == ["one", "two"]
    for member in members:
        await member.close({"type": "websocket.disconnect", "code": 1000})


async def check_sse(app: Any) -> None:
    listeners = [_http(app, "GET", "/sse/room") for _ in range(2)]
    for listener in listeners:
        start = (await listener.wait_for(1, "http.response.start"))[0]
        assert dict(start["headers"])[b"content-type"].startswith(b"text/event-stream")
    await asyncio.sleep(0.05)
    for n in (1, 2):
        publish = _http(app, "POST", "/sse/publish", b"%d" % n)
        assert (await publish.wait_for(1, "http.response.start"))[0]["status"] == 200
        await asyncio.wait_for(publish.task, 5)
    for listener in listeners:
        while True:
            stream = b"".join(m.get("body", b"") for m in listener.got if "body" in m)
            if re.findall(rb"data: (\d+)\r?\n\r?\n", stream) == [b"1", b"2"]:
                break
            listener.arrived.clear()
            await listener.arrived.wait()
    await asyncio.gather(*(peer.close({"type": "http.disconnect"}) for peer in listeners))


REALTIME_CHECKS = {"ws-echo": check_ws_echo, "ws-json": check_ws_json, "ws-room": check_ws_room,
                   "sse": check_sse}  # fmt: skip


@pytest.mark.parametrize("endpoint", list(REALTIME_CHECKS))
@pytest.mark.parametrize("framework", REALTIME)
def test_bench_app_real_time(framework: str, endpoint: str, served: dict[str, _Served]) -> None:
    package, _ = FRAMEWORKS[framework]
    if package is not None and importlib.util.find_spec(package) is None:
        service_unavailable(package, "not installed: pip install -e '.[dev]' (the peers extra)")
    if framework not in served:
        served[framework] = _Served(_load_app(framework).app)
    served[framework].run(REALTIME_CHECKS[endpoint])
