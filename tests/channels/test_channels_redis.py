"""plait.channels across nodes: each ``Channels`` here is one node, sharing the Redis server."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest
from channels_helpers import REDIS_URL

from _servers import free_port
from plait import App
from plait.channels import Channels, RedisBackend
from plait.testing import TestClient

pytestmark = pytest.mark.redis


def test_a_message_published_on_one_node_reaches_subscribers_on_the_others(
    redis_prefix: str,
) -> None:
    async def main() -> None:
        nodes = [Channels(backend=RedisBackend(REDIS_URL, prefix=redis_prefix)) for _ in range(3)]
        a, b, c = nodes
        for node in nodes:
            await node.start()
        try:
            async with (
                b.subscribe("room:42") as on_b,
                c.subscribe("room:42") as on_c,
                c.subscribe("room:43") as elsewhere,
            ):
                await a.publish("room:42", {"text": "from A"})
                got_b = await asyncio.wait_for(on_b.get(), 5)
                got_c = await asyncio.wait_for(on_c.get(), 5)
                assert got_b is not None
                assert got_b.json() == {"text": "from A"}
                assert got_c is not None
                assert got_c.json() == {"text": "from A"}
                await a.publish("room:43", "other room")
                got = await asyncio.wait_for(elsewhere.get(), 5)
                assert got is not None
                assert got.text == "other room"
                # room:42 heard nothing of room:43: its next message is the one after.
                await a.publish("room:42", "after")
                got = await asyncio.wait_for(on_c.get(), 5)
                assert got is not None
                assert got.text == "after"
        finally:
            for node in nodes:
                await node.stop()

    asyncio.run(main())


def test_a_node_that_lost_its_redis_connection_subscribes_again(redis_prefix: str) -> None:
    import redis.asyncio

    name = "plait-test-" + uuid.uuid4().hex[:10]

    async def main() -> None:
        node = Channels(backend=RedisBackend(REDIS_URL, prefix=redis_prefix, client_name=name))
        await node.start()
        admin = redis.asyncio.from_url(REDIS_URL)
        try:
            async with node.subscribe("g") as sub:
                await node.publish("g", "before")
                assert (await asyncio.wait_for(sub.get(), 5)) is not None
                # Kill this node's own subscriber connection (found by its name), as a Redis
                # restart or a network cut would.
                clients = await admin.client_list()
                ids = [c["id"] for c in clients if c.get("name") == name and int(c["sub"]) > 0]
                assert ids
                for client_id in ids:
                    await admin.client_kill_filter(_id=client_id)
                received = None
                for _ in range(100):
                    await node.publish("g", "after")
                    try:
                        received = await asyncio.wait_for(sub.get(), 0.2)
                        break
                    except TimeoutError:
                        continue
                assert received is not None
                assert received.text == "after"
        finally:
            await admin.aclose()
            await node.stop()

    asyncio.run(main())


def test_publishing_while_redis_is_down_is_a_503_with_retry_after_and_one_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = App()
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    channels = Channels(app, backend=RedisBackend(nowhere, socket_timeout=0.5))

    @app.post("/say")
    async def say() -> None:
        await channels.publish("room:1", "hello")

    caplog.set_level(logging.INFO, logger="plait")
    with TestClient(app) as client:
        for _ in range(3):
            response = client.post("/say")
            assert response.status_code == 503
            assert response.headers["retry-after"].isdigit()
            assert response.headers["content-type"] == "application/problem+json"
    outage = [r for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(outage) == 1
    assert "Redis (channels)" in outage[0].getMessage()


def test_fan_out_to_many_subscribers_on_two_nodes(redis_prefix: str) -> None:
    async def main() -> None:
        a = Channels(backend=RedisBackend(REDIS_URL, prefix=redis_prefix), max_buffer=200)
        b = Channels(backend=RedisBackend(REDIS_URL, prefix=redis_prefix), max_buffer=200)
        await a.start()
        await b.start()
        try:
            async with (
                _many(a, "big", 250) as on_a,
                _many(b, "big", 250) as on_b,
            ):
                for n in range(100):
                    await a.publish("big", n)
                for subscription in [*on_a, *on_b]:
                    messages = [await asyncio.wait_for(subscription.get(), 5) for _ in range(100)]
                    assert [m.json() for m in messages if m is not None] == list(range(100))
        finally:
            await a.stop()
            await b.stop()

    asyncio.run(main())


class _many:
    def __init__(self, channels: Channels, group: str, count: int) -> None:
        self.contexts = [channels.subscribe(group) for _ in range(count)]

    async def __aenter__(self) -> list[object]:
        return [await context.__aenter__() for context in self.contexts]

    async def __aexit__(self, *exc_info: object) -> None:
        for context in self.contexts:
            await context.__aexit__(None, None, None)
