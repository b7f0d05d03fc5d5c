"""Three plait nodes behind nginx, sharing PostgreSQL and Redis: state is the cluster's.

The tests run in file order on one cluster: the shared-state checks first, then node B is
killed (SIGKILL) during a write load, then node C is stopped gracefully (SIGTERM).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid

import httpx
import pytest
from cluster_harness import Cluster, kill
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def test_nginx_spreads_requests_over_the_three_nodes(running_cluster: Cluster) -> None:
    with httpx.Client(base_url=running_cluster.url) as client:
        seen = {client.get("/node").headers["x-node"] for _ in range(12)}
    assert seen == {"a", "b", "c"}


def test_a_session_made_on_one_node_is_valid_on_the_others(running_cluster: Cluster) -> None:
    with httpx.Client() as client:  # cookies ignore the port: one jar for the three nodes
        login = client.post(running_cluster.node_url("a") + "/login")
        assert login.status_code == 200
        assert client.cookies
        for name in ("a", "b", "c"):
            me = client.get(running_cluster.node_url(name) + "/me").json()
            assert me == {"user": "ada", "node": name}
    with httpx.Client() as stranger:
        assert stranger.get(running_cluster.node_url("b") + "/me").json()["user"] is None


def test_a_cached_value_set_on_one_node_is_read_on_the_others(running_cluster: Cluster) -> None:
    key = "k-" + uuid.uuid4().hex[:12]
    with httpx.Client() as client:
        put = client.put(running_cluster.node_url("a") + f"/cache/{key}", json={"v": "42"})
        assert put.status_code == 200
        for name in ("b", "c"):
            got = client.get(running_cluster.node_url(name) + f"/cache/{key}").json()
            assert got == {"value": {"v": "42", "set_on": "a"}, "node": name}


def test_a_rate_limit_of_5_a_minute_holds_across_the_cluster(running_cluster: Cluster) -> None:
    """15 requests through nginx land on all three nodes: 5 pass in all, not 5 per node."""
    headers = {"X-API-Key": uuid.uuid4().hex}
    with httpx.Client(base_url=running_cluster.url, headers=headers) as client:
        responses = [client.get("/limited") for _ in range(15)]
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 5, statuses
    assert statuses.count(429) == 10, statuses
    assert statuses[:5] == [200] * 5
    served = {r.json()["node"] for r in responses if r.status_code == 200}
    assert len(served) >= 2  # round-robin: the 5 allowed were spread over the nodes
    refused = responses[-1]
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["retry-after"]) > 0
    print(
        f"\nrate limit: 5/minute across 3 nodes: {statuses.count(200)} of 15 allowed "
        f"(served by {sorted(served)}), {statuses.count(429)} refused"
    )


def test_a_task_enqueued_on_one_node_runs_exactly_once(
    running_cluster: Cluster, database_url: str
) -> None:
    """Enqueued on node B, run by the one worker (RabbitMQ): its effect is counted once."""
    keys = [f"task-{uuid.uuid4().hex[:10]}-{n}" for n in range(5)]
    with httpx.Client() as client:
        for key in keys:
            sent = client.post(running_cluster.node_url("b") + f"/tasks/{key}")
            assert sent.status_code == 202, sent.text

    async def counts() -> dict[str, int]:
        import asyncpg  # type: ignore[import-untyped]

        dsn = database_url.replace("postgresql+asyncpg", "postgresql")
        connection = await asyncpg.connect(dsn)
        try:
            rows = await connection.fetch(
                "SELECT key, count(*) AS n FROM cluster_task_runs WHERE key = ANY($1) GROUP BY key",
                keys,
            )
        finally:
            await connection.close()
        return {row["key"]: row["n"] for row in rows}

    deadline = time.monotonic() + 60
    found: dict[str, int] = {}
    while len(found) < len(keys) and time.monotonic() < deadline:
        time.sleep(0.2)
        found = asyncio.run(counts())
    time.sleep(1.0)  # a second run, if there were one, would show up now
    found = asyncio.run(counts())
    assert found == dict.fromkeys(keys, 1), running_cluster.worker.log()[-3000:]


async def _join(url: str, room: str) -> object:
    ws = await connect(url.replace("http://", "ws://") + f"/ws/{room}")
    joined = msgspec_loads(await asyncio.wait_for(ws.recv(), 5))
    assert joined["joined"] == room
    return ws


def msgspec_loads(data: str | bytes) -> dict[str, str]:
    import msgspec

    loaded: dict[str, str] = msgspec.json.decode(data)
    return loaded


def test_a_channel_message_published_on_a_reaches_websockets_on_b_and_c(
    running_cluster: Cluster,
) -> None:
    room = uuid.uuid4().hex[:12]

    async def main() -> None:
        on_b = await _join(running_cluster.node_url("b"), room)
        on_c = await _join(running_cluster.node_url("c"), room)
        via_nginx = await _join(running_cluster.url, room)  # the Upgrade passes the proxy
        try:
            async with httpx.AsyncClient() as client:
                sent = await client.post(
                    running_cluster.node_url("a") + f"/publish/{room}", json={"text": "hi"}
                )
                assert sent.status_code == 202
            for ws in (on_b, on_c, via_nginx):
                got = msgspec_loads(await asyncio.wait_for(ws.recv(), 5))  # type: ignore[attr-defined]
                assert got == {"text": "hi", "from": "a"}
        finally:
            for ws in (on_b, on_c, via_nginx):
                await ws.close()  # type: ignore[attr-defined]

    asyncio.run(main())


def test_channel_fan_out_across_nodes(running_cluster: Cluster) -> None:
    """100 WebSockets, 50 on B and 50 on C, each get 20 messages published on A, in order."""
    room = uuid.uuid4().hex[:12]
    clients, messages = 50, 20

    async def main() -> float:
        sockets = [
            await _join(running_cluster.node_url(name), room)
            for name in ("b", "c")
            for _ in range(clients)
        ]
        try:

            async def read_all(ws: object) -> list[int]:
                return [
                    int(msgspec_loads(await asyncio.wait_for(ws.recv(), 10))["n"])  # type: ignore[attr-defined]
                    for _ in range(messages)
                ]

            readers = [asyncio.create_task(read_all(ws)) for ws in sockets]
            start = time.perf_counter()
            async with httpx.AsyncClient() as client:
                for n in range(messages):
                    url = running_cluster.node_url("a") + f"/publish/{room}"
                    assert (await client.post(url, json={"n": str(n)})).status_code == 202
            results = await asyncio.gather(*readers)
            elapsed = time.perf_counter() - start
            assert all(result == list(range(messages)) for result in results)
            return elapsed
        finally:
            for ws in sockets:
                await ws.close()  # type: ignore[attr-defined]

    elapsed = asyncio.run(main())
    deliveries = 2 * clients * messages
    print(
        f"\nfan-out: {deliveries} WebSocket deliveries in {elapsed:.2f} s "
        f"({deliveries / elapsed:.0f}/s) from node A to 100 clients on B and C"
    )


WRITES = int(os.environ.get("CLUSTER_WRITES", "3000"))
CONCURRENCY = 32
GETS = 300


@pytest.mark.timeout(300)  # seconds here; minutes only on a machine busy with other work
def test_killing_a_node_under_write_load_loses_no_acknowledged_write(
    running_cluster: Cluster, database_url: str
) -> None:
    """SIGKILL node B a third of the way through 3,000 POSTs through nginx.

    Every write answered 2xx must be in PostgreSQL; a failed write may only be a 502/503
    or a connection error. Idempotent GETs sent meanwhile are retried by nginx: none fails.
    """
    run = uuid.uuid4().hex[:8]
    outcomes: dict[str, str] = {}
    get_failures: list[str] = []
    gets: list[int] = []

    async def main() -> None:
        limits = httpx.Limits(max_connections=CONCURRENCY + 4)
        async with httpx.AsyncClient(
            base_url=running_cluster.url, limits=limits, timeout=30
        ) as client:
            queue: asyncio.Queue[str] = asyncio.Queue()
            for n in range(WRITES):
                queue.put_nowait(f"{run}-{n}")
            done = 0
            killed = asyncio.Event()
            near_the_kill = asyncio.Event()

            async def writer() -> None:
                nonlocal done
                while not queue.empty():
                    key = queue.get_nowait()
                    try:
                        response = await client.post("/writes", json={"key": key})
                        outcomes[key] = str(response.status_code)
                    except httpx.TransportError as exc:
                        outcomes[key] = type(exc).__name__
                    done += 1
                    if done == WRITES // 3 - 100:
                        near_the_kill.set()
                    if done == WRITES // 3 and not killed.is_set():
                        kill(running_cluster.nodes["b"], signal.SIGKILL)
                        killed.set()

            async def reader() -> None:
                # GETs around the kill only (300 of them, from just before it), one at a time.
                await near_the_kill.wait()
                for _ in range(GETS):
                    try:
                        response = await client.get("/node")
                        if response.status_code != 200:
                            get_failures.append(str(response.status_code))
                    except httpx.TransportError as exc:
                        get_failures.append(type(exc).__name__)
                    gets.append(1)

            await asyncio.gather(*(writer() for _ in range(CONCURRENCY)), reader())
            assert killed.is_set()

    start = time.perf_counter()
    asyncio.run(main())
    elapsed = time.perf_counter() - start
    found: set[str] = set()

    async def fetch() -> None:
        import asyncpg  # type: ignore[import-untyped]

        connection = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
        try:
            rows = await connection.fetch(
                "SELECT key FROM cluster_writes WHERE key LIKE $1", f"{run}-%"
            )
        finally:
            await connection.close()
        found.update(row["key"] for row in rows)

    asyncio.run(fetch())
    acknowledged = {key for key, outcome in outcomes.items() if outcome.startswith("2")}
    failed = {key: outcome for key, outcome in outcomes.items() if not outcome.startswith("2")}
    lost = acknowledged - found
    print(
        f"\nkill-node: {WRITES} writes in {elapsed:.1f} s; acknowledged {len(acknowledged)}, "
        f"found {len(found & acknowledged)}, lost {len(lost)}; failed {len(failed)} "
        f"({sorted(set(failed.values()))}); GETs around the kill {len(gets)}, failed "
        f"{len(get_failures)}"
    )
    assert running_cluster.nodes["b"].process.wait(timeout=10) is not None
    assert len(outcomes) == WRITES
    assert lost == set()
    assert set(failed.values()) <= {
        "502",
        "503",
        "ConnectError",
        "RemoteProtocolError",
        "ReadError",
    }
    assert len(gets) == GETS
    assert get_failures == []
    assert len(acknowledged) > WRITES // 2  # the two other nodes took the rest


def test_sigterm_drains_requests_and_closes_websockets_with_1001(running_cluster: Cluster) -> None:
    node = running_cluster.nodes["c"]

    async def main() -> tuple[int, int | None, float]:
        ws = await _join(node.url, uuid.uuid4().hex[:12])
        async with httpx.AsyncClient(timeout=20) as client:
            slow = asyncio.create_task(client.get(node.url + "/slow", params={"seconds": 2}))
            await asyncio.sleep(0.5)  # the request is in flight
            start = time.perf_counter()
            os.kill(node.process.pid, signal.SIGTERM)  # as docker stop and Kubernetes do
            response = await slow
            code: int | None = None
            try:
                await asyncio.wait_for(ws.recv(), 10)  # type: ignore[attr-defined]
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd is not None else None
            await asyncio.to_thread(node.process.wait, 20)
            return response.status_code, code, time.perf_counter() - start

    status, code, elapsed = asyncio.run(main())
    print(
        f"\nSIGTERM: in-flight request {status}, WebSocket closed with {code}, "
        f"node exited after {elapsed:.1f} s"
    )
    assert status == 200
    assert code == 1001, running_cluster.log("c")[-3000:]
    assert node.process.returncode is not None
    assert elapsed < 15
