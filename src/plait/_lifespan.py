"""An app's start-up and shutdown: hooks in the order they were added, the ``lifespan``
context, the ASGI lifespan protocol, and the open WebSockets closed on SIGTERM."""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

from plait._shutdown import OpenWebSockets, install_quietly
from plait.types import Receive, Send

__all__ = ["Lifespan", "LifespanContext"]

logger = logging.getLogger("plait.error")

LifespanContext = Callable[[Any], contextlib.AbstractAsyncContextManager[Any]]
"""``lifespan(app)``: an async context manager around the app's life; a mapping it yields
becomes attributes of ``app.state``."""


class Lifespan:
    """Runs an app's start-up hooks, then its ``lifespan`` context, and on the way out its
    shutdown hooks; a failed start-up closes what the hooks before it opened."""

    def __init__(
        self,
        on_startup: Sequence[Callable[[], Any]],
        on_shutdown: Sequence[Callable[[], Any]],
        context: LifespanContext | None,
    ) -> None:
        self.startup_hooks: list[Callable[[], Any]] = list(on_startup)
        self.shutdown_hooks: list[Callable[[], Any]] = list(on_shutdown)
        # (is a start-up hook, hook) in the order added: a failed start-up stops what began.
        self._order = [(True, h) for h in on_startup] + [(False, h) for h in on_shutdown]
        self.context = context
        self.open_websockets = OpenWebSockets()
        """Closed with 1001 when the server gets SIGTERM."""
        self._stack: contextlib.AsyncExitStack | None = None

    def add(self, hook: Callable[[], Any], *, startup: bool) -> None:
        (self.startup_hooks if startup else self.shutdown_hooks).append(hook)
        self._order.append((startup, hook))

    async def serve(self, app: Any, receive: Receive, send: Send) -> None:
        """The ASGI lifespan protocol for ``app`` (built first)."""
        message = await receive()
        if message["type"] != "lifespan.startup":
            return
        try:
            app.build()
            async with self.running(app):
                await send({"type": "lifespan.startup.complete"})
                message = await receive()
        except BaseException as exc:
            failed = "shutdown" if message["type"] == "lifespan.shutdown" else "startup"
            logger.exception("Application %s failed", "start-up" if failed == "startup" else failed)
            await send({"type": f"lifespan.{failed}.failed", "message": repr(exc)})
            # A failed start-up is reported, not raised; cancellation and Ctrl-C still propagate.
            if failed == "startup" and isinstance(exc, Exception):
                return
            raise
        await send({"type": "lifespan.shutdown.complete"})

    async def start(self, app: Any) -> None:
        """Start without a server (test clients, scripts); :meth:`stop` ends it."""
        self._stack = contextlib.AsyncExitStack()
        await self._stack.enter_async_context(self.running(app))

    async def stop(self) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()

    @contextlib.asynccontextmanager
    async def running(self, app: Any) -> AsyncIterator[None]:
        install_quietly(self.open_websockets)  # SIGTERM closes WebSockets with 1001 first
        for hook in self.startup_hooks:
            try:
                await _maybe_await(hook())
            except BaseException:
                await self._stop_after_failed_startup(hook)
                raise
        if self.context is not None:
            entered = False
            try:
                async with self.context(app) as state:
                    entered = True
                    if isinstance(state, Mapping):
                        for key, value in state.items():
                            setattr(app.state, key, value)
                    yield
            except BaseException:
                if not entered:
                    await self._stop_after_failed_startup(None)
                raise
        else:
            yield
        for hook in self.shutdown_hooks:
            await _maybe_await(hook())

    async def _stop_after_failed_startup(self, failed: Callable[[], Any] | None) -> None:
        """Run the shutdown hooks added before the start-up hook ``failed`` (all of them when
        the lifespan context failed): what a battery opened is closed, errors only logged."""
        before: list[Callable[[], Any]] = []
        for is_startup, hook in self._order:
            if is_startup and hook is failed:
                break
            if not is_startup:
                before.append(hook)
        for hook in self.shutdown_hooks:
            if any(hook is earlier for earlier in before):
                try:
                    await _maybe_await(hook())
                except Exception:
                    logger.exception("Shutdown hook %r failed after a failed start-up", hook)


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value
