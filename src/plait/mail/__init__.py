"""Sending e-mail, as Django's ``django.core.mail``: ``Mail(app, backend)`` and ``send_mail``.

::

    from plait import App
    from plait.mail import Mail, SMTPBackend, send_mail

    app = App()
    Mail(app, SMTPBackend("smtp.example.com", 587, use_tls=True), default_from="site@example.com")

    # in a handler:
    await send_mail(request, "Welcome", "Hello!", ["ada@example.com"])

Backends: :class:`SMTPBackend` (the standard library's ``smtplib``, in a thread),
:class:`ConsoleBackend` (prints), :class:`FileBackend` (one ``.eml`` file a message) and
:class:`MemoryBackend` (an ``outbox`` list, for tests). A backend of your own has one
method, ``async send(messages) -> int``. No extra dependency.
"""

from plait.mail._backends import (
    ConsoleBackend,
    FileBackend,
    MailBackend,
    MemoryBackend,
    SMTPBackend,
)
from plait.mail._mail import Mail, send_mail
from plait.mail._message import EmailMessage

__all__ = [
    "ConsoleBackend",
    "EmailMessage",
    "FileBackend",
    "Mail",
    "MailBackend",
    "MemoryBackend",
    "SMTPBackend",
    "send_mail",
]
