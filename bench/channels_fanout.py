"""Channel fan-out: how fast one published message reaches many subscribers.

Publishes ``--messages`` messages to one group with ``--subscribers`` subscribers, split over
``--nodes`` nodes (``Channels`` instances, each with its own Redis connection, as separate
processes would have), and times until every subscriber has read every message. Prints
deliveries per second and the time from publish to the last delivery. ``--backend memory``
measures one process without Redis.

    python bench/channels_fanout.py                          # Redis, 2 nodes, 1,000 subscribers
    python bench/channels_fanout.py --backend memory --nodes 1
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
import uuid

from plait.channels import Channels, MemoryBackend, RedisBackend, Subscription


async def run(backend: str, url: str, nodes: int, subscribers: int, messages: int) -> None:
    prefix = f"plait-bench:{uuid.uuid4().hex[:8]}:"
    made = [
        Channels(
            backend=RedisBackend(url, prefix=prefix) if backend == "redis" else MemoryBackend(),
            max_buffer=messages + 1,
        )
        for _ in range(nodes)
    ]
    async with contextlib.AsyncExitStack() as stack:
        for node in made:
            await stack.enter_async_context(node)
        subs: list[Subscription] = []
        for i in range(subscribers):
            node = made[i % nodes]
            subs.append(await stack.enter_async_context(node.subscribe("bench")))

        async def drain(sub: Subscription) -> None:
            for _ in range(messages):
                await sub.get()

        readers = [asyncio.create_task(drain(sub)) for sub in subs]
        payload = {"text": "x" * 100, "n": 0}
        start = time.perf_counter()
        for n in range(messages):
            payload["n"] = n
            await made[0].publish("bench", payload)
        published = time.perf_counter() - start
        await asyncio.gather(*readers)
        elapsed = time.perf_counter() - start
    deliveries = subscribers * messages
    print(
        f"{backend}, {nodes} node(s), {subscribers} subscribers, {messages} messages: "
        f"{deliveries:,} deliveries in {elapsed:.3f} s = {deliveries / elapsed:,.0f}/s "
        f"(publishing took {published:.3f} s; {elapsed / messages * 1000:.2f} ms per message "
        "to reach everyone)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["redis", "memory"], default="redis")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(run(args.backend, args.redis_url, args.nodes, args.subscribers, args.messages))


if __name__ == "__main__":
    main()
