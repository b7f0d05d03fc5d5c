"""plait.mail: the backends (memory, console, file, SMTP against a small local server) and
``Mail``/``send_mail`` on an app."""

from __future__ import annotations

import asyncio
import email
import io
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from plait import App, Request
from plait.mail import (
    ConsoleBackend,
    EmailMessage,
    FileBackend,
    Mail,
    MemoryBackend,
    SMTPBackend,
    send_mail,
)
from plait.testing import TestClient


def message() -> EmailMessage:
    return EmailMessage(
        "Hello", "Hi Ada!", to=["ada@example.com"], bcc=["log@example.com"], from_email="s@x.org"
    )


def test_memory_and_send_mail() -> None:
    app = App()
    outbox = MemoryBackend()
    Mail(app, outbox, default_from="site@example.com")

    @app.post("/welcome")
    async def welcome(request: Request) -> int:
        return await send_mail(request, "Welcome", "Hello!", ["ada@example.com"], html="<p>Hi</p>")

    with TestClient(app) as client:
        assert client.post("/welcome").text == "1"
    [sent] = outbox.outbox
    assert (sent.subject, sent.to, sent.from_email) == (
        "Welcome",
        ["ada@example.com"],
        "site@example.com",
    )
    mime = sent.to_mime()
    assert mime.get_content_type() == "multipart/alternative"


def test_console_and_file_backends(tmp_path: Path) -> None:
    stream = io.StringIO()
    assert asyncio.run(ConsoleBackend(stream).send([message()])) == 1
    printed = stream.getvalue()
    assert "Subject: Hello" in printed
    assert "Hi Ada!" in printed
    assert "log@example.com" not in printed  # Bcc is no header
    assert asyncio.run(FileBackend(tmp_path / "mail").send([message(), message()])) == 2
    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 2
    parsed = email.message_from_bytes(files[0].read_bytes())
    assert parsed["To"] == "ada@example.com"


def test_header_injection_is_refused() -> None:
    bad = EmailMessage("Hi\nBcc: victim@example.com", "x", to=["a@example.com"])
    with pytest.raises(ValueError, match="newlines"):
        bad.to_mime()


class _SMTP(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT."""

    received: list[tuple[list[bytes], bytes]]
    logins: list[bytes]

    def handle(self) -> None:
        self.wfile.write(b"220 test ESMTP\r\n")
        commands: list[bytes] = []
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self.wfile.write(b"250-test\r\n250 AUTH PLAIN\r\n")
            elif verb == b"AUTH":
                self.logins.append(line.strip())
                self.wfile.write(b"235 2.7.0 Accepted\r\n")
            elif verb == b"DATA":
                self.wfile.write(b"354 go on\r\n")
                body = b"".join(iter(self.rfile.readline, b".\r\n"))
                self.received.append((commands, body))
                commands = []
                self.wfile.write(b"250 OK\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                commands.append(line.strip().upper())
                self.wfile.write(b"250 OK\r\n")


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, type[_SMTP]]]:
    handler = type("Handler", (_SMTP,), {"received": [], "logins": []})
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_smtp_backend(smtp_server: tuple[int, type[_SMTP]]) -> None:
    port, handler = smtp_server
    backend = SMTPBackend("127.0.0.1", port, username="site", password="pw", timeout=5)
    assert asyncio.run(backend.send([message()])) == 1
    [(commands, body)] = handler.received
    assert commands[0] == b"MAIL FROM:<S@X.ORG>"
    assert set(commands[1:]) == {b"RCPT TO:<ADA@EXAMPLE.COM>", b"RCPT TO:<LOG@EXAMPLE.COM>"}
    assert b"Subject: Hello" in body
    assert b"log@example.com" not in body
    assert handler.logins
    assert handler.logins[0].startswith(b"AUTH PLAIN")
    assert asyncio.run(backend.send([])) == 0
    with pytest.raises(ValueError, match="exclude each other"):
        SMTPBackend(use_tls=True, use_ssl=True)
