"""plait's channels: named groups of WebSockets and event streams, across every node.

::

    from plait.channels import Channels

    channels = Channels(app)
    await channels.publish("room:42", {"text": "hello"})

The default backend keeps messages in this process (:class:`MemoryBackend`); with the
settings' ``REDIS_URL`` set, or ``backend=RedisBackend(url)``, they travel through Redis
pub/sub to every node (``pip install 'plait[redis]'``). See docs/channels.md.
"""

from plait.channels._backends import ChannelBackend, MemoryBackend, RedisBackend
from plait.channels._channels import SLOW_CONSUMER, Channels
from plait.channels._message import ChannelMessage
from plait.channels._subscription import Subscription

__all__ = [
    "SLOW_CONSUMER",
    "ChannelBackend",
    "ChannelMessage",
    "Channels",
    "MemoryBackend",
    "RedisBackend",
    "Subscription",
]
