"""Mail backends: SMTP (smtplib), console, files, and an in-memory outbox for tests."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import smtplib
import ssl
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, TextIO

from plait.mail._message import EmailMessage

__all__ = ["ConsoleBackend", "FileBackend", "MailBackend", "MemoryBackend", "SMTPBackend"]


class MailBackend(Protocol):
    """What sends mail: one method, which returns how many messages went out."""

    async def send(self, messages: Sequence[EmailMessage]) -> int: ...


class MemoryBackend:
    """Keeps messages in ``outbox`` (a list), for tests: Django's locmem backend."""

    def __init__(self) -> None:
        self.outbox: list[EmailMessage] = []

    async def send(self, messages: Sequence[EmailMessage]) -> int:
        self.outbox.extend(messages)
        return len(messages)


class ConsoleBackend:
    """Writes each message to ``stream`` (standard output), for development."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    async def send(self, messages: Sequence[EmailMessage]) -> int:
        stream = self.stream or sys.stdout
        with self._lock:
            for message in messages:
                stream.write(message.to_mime().as_string())
                stream.write("\n" + "-" * 79 + "\n")
            stream.flush()
        return len(messages)


class FileBackend:
    """Writes each message to a ``.eml`` file of its own in ``directory``."""

    _counter = itertools.count()

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    async def send(self, messages: Sequence[EmailMessage]) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        for message in messages:
            name = f"{time.strftime('%Y%m%d-%H%M%S')}-{next(self._counter):06d}.eml"
            (self.directory / name).write_bytes(message.to_mime().as_bytes())
        return len(messages)


@dataclasses.dataclass(eq=False)
class SMTPBackend:
    """Sends through an SMTP server with the standard library's ``smtplib`` (in a thread,
    one connection per batch)::

        SMTPBackend("smtp.example.com", 587, username="site", password=..., use_tls=True)

    ``use_tls`` is STARTTLS (port 587), ``use_ssl`` implicit TLS (port 465); both verify
    the server's certificate. Errors propagate (``smtplib.SMTPException``, ``OSError``).
    """

    host: str = "localhost"
    port: int = 25
    _: dataclasses.KW_ONLY
    username: str | None = None
    password: str | None = dataclasses.field(default=None, repr=False)
    use_tls: bool = False
    use_ssl: bool = False
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.use_tls and self.use_ssl:
            raise ValueError("use_tls (STARTTLS) and use_ssl (implicit TLS) exclude each other")

    async def send(self, messages: Sequence[EmailMessage]) -> int:
        if not messages:
            return 0
        return await asyncio.to_thread(self._send, messages)

    def _connect(self) -> smtplib.SMTP:
        if self.use_ssl:
            context = ssl.create_default_context()
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.use_tls:
            connection.starttls(context=ssl.create_default_context())
        return connection

    def _send(self, messages: Sequence[EmailMessage]) -> int:
        with self._connect() as connection:
            if self.username is not None and self.password is not None:
                connection.login(self.username, self.password)
            for message in messages:
                connection.send_message(
                    message.to_mime(), from_addr=message.from_email, to_addrs=message.recipients()
                )
        return len(messages)
