"""The app each node of the cluster test runs (``plait run cluster_app:app``).

Everything it shares with the other nodes comes from the settings, as in production:
``PLAIT_DATABASE_URL`` (PostgreSQL), ``PLAIT_REDIS_URL`` (sessions, channels) and
``PLAIT_SECRET_KEY``; ``CLUSTER_NODE`` names the node in an ``X-Node`` header, so the test can
see which node answered.
"""

from __future__ import annotations

import asyncio
import os

import msgspec
import sqlalchemy as sa

from plait import App, Request, Response, WebSocket
from plait.cache import Cache
from plait.channels import Channels
from plait.db import Database
from plait.observability import Health, database_check, redis_check
from plait.ratelimit import RateLimiter
from plait.sessions import RedisStore, Sessions
from plait.tasks import Tasks

NODE = os.environ.get("CLUSTER_NODE", "?")
REDIS_URL = os.environ["PLAIT_REDIS_URL"]
PREFIX = os.environ.get("CLUSTER_PREFIX", "plait-cluster:")

app = App(openapi_url=None)
db = Database(app, engine_options={"pool_size": 10, "max_overflow": 10})
Sessions(app, store=RedisStore(REDIS_URL, prefix=PREFIX + "session:"))
channels = Channels(app)
cache = Cache(app, prefix=PREFIX + "cache:")
limiter = RateLimiter(app)
tasks = Tasks(app, queue=PREFIX + "tasks")  # PLAIT_TASKS_URL: RabbitMQ, run by `plait worker`
Health(app, checks={"database": database_check(db), "redis": redis_check(REDIS_URL)})

writes = sa.table("cluster_writes", sa.column("key", sa.String))
task_runs = sa.table("cluster_task_runs", sa.column("key", sa.String))


@tasks.task()
async def record_run(key: str) -> None:
    """The task's effect: one row per run, counted by the test."""
    async with db.engine.begin() as connection:
        await connection.execute(sa.insert(task_runs).values(key=key))


class Write(msgspec.Struct):
    key: str


@app.get("/node")
def node(response: Response) -> str:
    response.headers["X-Node"] = NODE
    return NODE


@app.post("/login")
def login(request: Request, response: Response) -> dict[str, str]:
    request.session["user"] = "ada"
    response.headers["X-Node"] = NODE
    return {"node": NODE}


@app.get("/me")
def me(request: Request, response: Response) -> dict[str, str | None]:
    response.headers["X-Node"] = NODE
    return {"user": request.session.get("user"), "node": NODE}


@app.post("/writes", status_code=201)
async def write(item: Write, response: Response) -> dict[str, str]:
    """Insert one row and commit before answering: a 2xx means the row is in PostgreSQL."""
    async with db.engine.begin() as connection:
        await connection.execute(sa.insert(writes).values(key=item.key))
    response.headers["X-Node"] = NODE
    return {"key": item.key, "node": NODE}


@app.post("/tasks/{key}", status_code=202)
async def enqueue(key: str) -> dict[str, str]:
    await record_run.enqueue(key)
    return {"node": NODE}


@app.get("/slow")
async def slow(seconds: float = 1.0) -> dict[str, str]:
    await asyncio.sleep(min(seconds, 10.0))
    return {"node": NODE, "slept": str(seconds)}


@app.put("/cache/{key}")
async def cache_set(key: str, value: dict[str, str]) -> dict[str, str]:
    await cache.set(key, {**value, "set_on": NODE}, ttl=60)
    return {"node": NODE}


@app.get("/cache/{key}")
async def cache_get(key: str) -> dict[str, object]:
    return {"value": await cache.get(key), "node": NODE}


@app.get("/limited", dependencies=[limiter.limit("5/minute", key="api_key")])
def limited() -> dict[str, str]:
    return {"node": NODE}


@app.post("/publish/{room}", status_code=202)
async def publish(room: str, message: dict[str, str]) -> dict[str, str]:
    await channels.publish(f"room:{room}", {**message, "from": NODE})
    return {"node": NODE}


@app.get("/subscribers/{room}")
def subscribers(room: str) -> int:
    return channels.subscribers(f"room:{room}")


@app.websocket("/ws/{room}")
async def room(ws: WebSocket, room: str) -> None:
    await ws.accept()
    async with channels.attach(ws, f"room:{room}"):
        await ws.send_json({"joined": room, "node": NODE})
        async for _ in ws.iter_text():
            pass
