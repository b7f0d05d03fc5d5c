"""``Task``: a function made a task, its arguments checked and encoded at enqueue time."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar, get_type_hints

import msgspec

from plait import Depends
from plait.tasks._inject import dependency_of

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from plait.tasks._handle import TaskHandle
    from plait.tasks._tasks import Tasks

__all__ = ["Schedule", "Task", "TaskArgumentError"]

R = TypeVar("R")

RESERVED = frozenset({"delay", "session"})
"""``enqueue`` keywords of its own; a task's arguments can't use these names."""


class TaskArgumentError(TypeError):
    """``enqueue`` was called with arguments that don't fit the task's signature or hints."""


class Schedule(msgspec.Struct, frozen=True):
    """When a periodic task runs: a cron expression (minutes) or every N seconds."""

    cron: str | None = None
    every: int | None = None

    def describe(self) -> str:
        return f"cron {self.cron!r}" if self.cron is not None else f"every {self.every} s"


def _seconds(value: float | timedelta | None) -> float | None:
    if isinstance(value, timedelta):
        return value.total_seconds()
    return None if value is None else float(value)


class Task(Generic[R]):
    """A task: call ``await task.enqueue(...)`` to run it in the background.

    Made by :meth:`plait.tasks.Tasks.task`. Its parameters are split in two at start-up:
    the ones with ``Depends`` (a ``Session``, settings) are resolved when it runs; the
    others are its arguments, checked against their type hints by msgspec when it is
    enqueued and encoded as JSON. Calling the task (``task(...)``) runs the function now,
    with every parameter given by the caller.
    """

    def __init__(
        self,
        tasks: Tasks,
        func: Callable[..., Awaitable[R]] | Callable[..., R],
        *,
        name: str,
        retries: int,
        timeout: float | timedelta | None,
        backoff: float | None,
        schedule: Schedule | None,
    ) -> None:
        if retries < 0:
            raise ValueError(f"retries must be 0 or more, got {retries}")
        self.tasks = tasks
        self.func = func
        self.name = name
        self.retries = retries
        self.timeout = _seconds(timeout)
        self.backoff = backoff
        self.schedule = schedule
        self.is_async = inspect.iscoroutinefunction(func)
        self.dependencies: list[tuple[str, Depends]] = []
        self.__doc__ = func.__doc__
        self.__wrapped__ = func
        try:
            hints = get_type_hints(func, include_extras=True)
        except (NameError, TypeError) as exc:
            raise TypeError(f"Cannot read the type hints of task {name!r}: {exc}") from exc
        fields: list[Any] = []
        parameters = []
        for pname, param in inspect.signature(func).parameters.items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise TypeError(f"Task {name!r}: *args and **kwargs can't be checked; name them")
            annotation = hints.get(pname, Any)
            marker = dependency_of(annotation, param.default)
            if marker is not None:
                self.dependencies.append((pname, marker))
                continue
            if pname in RESERVED:
                raise TypeError(
                    f"Task {name!r}: a parameter can't be called {pname!r} "
                    "(enqueue(..., delay=, session=) uses that name)"
                )
            if param.default is param.empty:
                fields.append((pname, annotation))
            else:
                fields.append((pname, annotation, param.default))
            parameters.append(param.replace(annotation=annotation))
        self.signature = inspect.Signature(parameters)
        try:
            self.arguments_type: type[msgspec.Struct] = msgspec.defstruct(
                f"{name}.arguments", fields, kw_only=True, forbid_unknown_fields=True
            )
            self._decoder = msgspec.json.Decoder(self.arguments_type)
        except TypeError as exc:
            raise TypeError(f"Task {name!r}: msgspec can't encode its arguments: {exc}") from exc
        returns = hints.get("return", None)
        self.keeps_result = returns is not None and returns is not type(None)
        self._result_decoder = msgspec.json.Decoder(returns if self.keeps_result else Any)

    def __repr__(self) -> str:
        return f"<Task {self.name}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    # ------------------------------------------------------------------ arguments

    def encode(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bytes:
        """Check ``args``/``kwargs`` against the signature and type hints; JSON-encode them."""
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TaskArgumentError(f"{self.name}{self.signature}: {exc}") from None
        try:
            value = msgspec.convert(dict(bound.arguments), self.arguments_type)
            return msgspec.json.encode(value)
        except (msgspec.ValidationError, TypeError) as exc:
            raise TaskArgumentError(f"{self.name}{self.signature}: {exc}") from None

    def decode(self, data: bytes) -> dict[str, Any]:
        """The keyword arguments encoded by :meth:`encode`, typed again."""
        return msgspec.structs.asdict(self._decoder.decode(data))

    def encode_result(self, value: Any) -> bytes:
        return msgspec.json.encode(value)

    def decode_result(self, data: bytes) -> Any:
        return self._result_decoder.decode(data)

    # ------------------------------------------------------------------ enqueueing

    async def enqueue(
        self,
        *args: Any,
        delay: float | timedelta | None = None,
        session: AsyncSession | None = None,
        **kwargs: Any,
    ) -> TaskHandle[R]:
        """Run this task in the background with these arguments; return its handle.

        The arguments are checked now (a bad call raises :class:`TaskArgumentError` here,
        in the caller). ``delay`` (seconds or a ``timedelta``) runs it no earlier than that.
        ``session``: publish it only if that database transaction commits (the outbox).
        """
        data = self.encode(args, kwargs)
        return await self.tasks.enqueue_encoded(self, data, delay=_seconds(delay), session=session)
