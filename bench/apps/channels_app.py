"""Django Channels: the real-time bench endpoints, as Channels' docs teach.

Consumers (``AsyncWebsocketConsumer`` and its JSON variant) for the echoes, a group on the
in-memory channel layer for the chat room (``group_add`` on connect, ``group_send`` of each
message, a ``chat_message`` handler per member), and an ``AsyncHttpConsumer`` per event
stream that joins the group ``sse`` and writes each group message as one event; ``POST
/sse/publish`` is one more HTTP consumer that calls ``group_send``. Routed by Channels'
``ProtocolTypeRouter`` and ``URLRouter``; only the real-time endpoints are served (Django's
HTTP bench app is ``django_app.py``).
"""

import django
from django.conf import settings

# The in-memory layer is Channels' own for one process (Redis is its production layer).
LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-only",
        ALLOWED_HOSTS=["*"],
        INSTALLED_APPS=["channels"],
        CHANNEL_LAYERS=LAYERS,
    )
    django.setup()
elif not getattr(settings, "CHANNEL_LAYERS", None):
    # The test suite imports django_app.py first, in the same process: add the layer.
    settings.CHANNEL_LAYERS = LAYERS

from channels.generic.http import AsyncHttpConsumer  # noqa: E402
from channels.generic.websocket import (  # noqa: E402
    AsyncJsonWebsocketConsumer,
    AsyncWebsocketConsumer,
)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402


class EchoConsumer(AsyncWebsocketConsumer):
    async def receive(self, text_data=None, bytes_data=None):
        await self.send(text_data=text_data)


class JsonEchoConsumer(AsyncJsonWebsocketConsumer):
    async def receive_json(self, content, **kwargs):
        await self.send_json(content)


class RoomConsumer(AsyncWebsocketConsumer):
    """The chat room of Channels' tutorial: every member's messages reach every member."""

    group = "room"

    async def connect(self):
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        await self.channel_layer.group_send(self.group, {"type": "chat.message", "text": text_data})

    async def chat_message(self, event):
        await self.send(text_data=event["text"])


class EventStreamConsumer(AsyncHttpConsumer):
    """One event stream: the headers and an open body, then one event per group message.

    ``AsyncHttpConsumer.http_request`` ends the consumer once ``handle`` returns; a stream
    stays open, so this starts it there and leaves the consumer running: its group
    messages and the client's disconnect are dispatched like a WebSocket consumer's.
    """

    async def http_request(self, message):
        await self.channel_layer.group_add("sse", self.channel_name)
        await self.send_headers(
            headers=[(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
        )
        await self.send_body(b"", more_body=True)

    async def sse_event(self, event):
        await self.send_body(b"data: " + event["data"] + b"\n\n", more_body=True)

    async def disconnect(self):
        await self.channel_layer.group_discard("sse", self.channel_name)


class PublishConsumer(AsyncHttpConsumer):
    async def handle(self, body):
        await self.channel_layer.group_send("sse", {"type": "sse.event", "data": body})
        await self.send_response(200, b"ok", headers=[(b"content-type", b"text/plain")])


async def lifespan(scope, receive, send):
    """The lifespan protocol, which Channels' router does not answer itself."""
    while True:
        message = await receive()
        await send({"type": message["type"] + ".complete"})
        if message["type"] == "lifespan.shutdown":
            return


app = ProtocolTypeRouter(
    {
        "http": URLRouter(
            [
                path("sse/room", EventStreamConsumer.as_asgi()),
                path("sse/publish", PublishConsumer.as_asgi()),
            ]
        ),
        "websocket": URLRouter(
            [
                path("ws/echo", EchoConsumer.as_asgi()),
                path("ws/json", JsonEchoConsumer.as_asgi()),
                path("ws/room", RoomConsumer.as_asgi()),
            ]
        ),
        "lifespan": lifespan,
    }
)
