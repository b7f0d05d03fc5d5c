"""The taskiq brokers behind ``PLAIT_TASKS_URL``: RabbitMQ (aio-pika) and Redis streams."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from taskiq import AckableMessage, AsyncBroker
from taskiq_aio_pika import AioPikaBroker, Exchange, Queue
from taskiq_redis import RedisStreamBroker

__all__ = ["RedisStreams", "describe_url", "make_broker", "scheme_of"]


def scheme_of(url: str) -> str:
    return url.partition("://")[0].lower()


class RedisStreams(RedisStreamBroker):
    """taskiq-redis's stream broker with two fixes for "nothing lost, nothing kept":

    - a dead worker's unacknowledged messages are claimed back (``XAUTOCLAIM`` after
      ``idle_timeout``) on every poll, not only after a poll that brought new messages
      (taskiq-redis 1.2 skips the claim while the stream is idle, so they would wait for
      the next enqueue);
    - an acknowledged message is deleted from the stream (``XACK`` + ``XDEL``), so the
      stream holds only the work still to do.
    """

    def _ack_generator(self, id: str, queue_name: str) -> Callable[[], Awaitable[None]]:
        async def ack() -> None:
            async with Redis(connection_pool=self.connection_pool) as redis:
                pipe = redis.pipeline()
                pipe.xack(queue_name, self.consumer_group_name, id)
                pipe.xdel(queue_name, id)
                await pipe.execute()

        return ack

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        async with Redis(connection_pool=self.connection_pool) as redis:
            while True:
                fetched = await redis.xreadgroup(
                    self.consumer_group_name,
                    self.consumer_name,
                    {self.queue_name: ">"},
                    block=self.block,
                    noack=False,
                    count=self.count,
                )
                batches: Any = fetched or ()
                for stream, messages in batches:
                    for message_id, message in messages:
                        yield AckableMessage(
                            data=message[b"data"],
                            ack=self._ack_generator(id=message_id, queue_name=stream),
                        )
                claimed = await redis.xautoclaim(
                    name=self.queue_name,
                    groupname=self.consumer_group_name,
                    consumername=self.consumer_name,
                    min_idle_time=self.idle_timeout,
                    count=self.unacknowledged_batch_size,
                )
                for message_id, message in claimed[1]:
                    if message is None:  # deleted meanwhile
                        continue
                    yield AckableMessage(
                        data=message[b"data"],
                        ack=self._ack_generator(id=message_id, queue_name=self.queue_name),
                    )


def make_broker(url: str, queue: str, *, prefetch: int, redelivery_timeout: float) -> AsyncBroker:
    """A taskiq broker for ``url`` (``amqp://``, ``amqps://``, ``redis://``, ``rediss://``).

    RabbitMQ: a durable exchange and queue named ``queue`` (and ``queue.dead``), persistent
    messages, publisher confirms, ``prefetch`` unacknowledged messages per worker; a killed
    worker's messages are redelivered when its connection drops. Redis: a stream ``queue``
    read by the consumer group ``queue``; a killed worker's messages are claimed by another
    worker after ``redelivery_timeout`` seconds (so that must exceed the longest task).
    """
    scheme = scheme_of(url)
    if scheme in ("amqp", "amqps"):
        return AioPikaBroker(
            url,
            exchange=Exchange(name=queue),
            task_queues=[Queue(name=queue)],
            dead_letter_queue=Queue(name=f"{queue}.dead"),
            qos=prefetch,
        )
    if scheme in ("redis", "rediss", "unix"):
        return RedisStreams(
            url,
            queue_name=queue,
            consumer_group_name=queue,
            consumer_id="0",
            idle_timeout=int(redelivery_timeout * 1000),
            xread_block=1000,
            xread_count=prefetch,
        )
    raise ValueError(
        f"PLAIT_TASKS_URL must be amqp://… (RabbitMQ) or redis://… (Redis), got {scheme}://…"
    )


def describe_url(url: str) -> str:
    """``url`` without its password, for logs."""
    scheme, _, rest = url.partition("://")
    if "@" in rest:
        credentials, _, host = rest.rpartition("@")
        user = credentials.partition(":")[0]
        return f"{scheme}://{user}:***@{host}"
    return url
