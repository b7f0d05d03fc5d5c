"""``Mail(app, backend)``: the app's mail backend and default sender; ``send_mail``."""

from __future__ import annotations

from collections.abc import Sequence

from plait import App, HTTPConnection
from plait.mail._backends import MailBackend, SMTPBackend
from plait.mail._message import EmailMessage

__all__ = ["Mail", "send_mail"]


class Mail:
    """The app's mail: a backend (``SMTPBackend()`` to localhost:25 by default, as Django's)
    and the sender of messages that name none (``default_from``)::

        Mail(app, MemoryBackend())          # tests: Mail.of(app).backend.outbox
        Mail(app, ConsoleBackend())         # development: printed
    """

    def __init__(
        self,
        app: App | None = None,
        backend: MailBackend | None = None,
        *,
        default_from: str = "webmaster@localhost",
    ) -> None:
        self.backend: MailBackend = backend if backend is not None else SMTPBackend()
        self.default_from = default_from
        if app is not None:
            self.init_app(app)

    def init_app(self, app: App) -> None:
        app.state.mail = self

    @classmethod
    def of(cls, app: App | None) -> Mail:
        """The :class:`Mail` of ``app``; a clear error when there is none."""
        mail = getattr(app.state, "mail", None) if app is not None else None
        if not isinstance(mail, Mail):
            raise RuntimeError("The app has no mail backend: add Mail(app, backend) (plait.mail)")
        return mail

    async def send(self, *messages: EmailMessage) -> int:
        """Send ``messages`` (those without a sender get ``default_from``)."""
        for message in messages:
            if not message.from_email:
                message.from_email = self.default_from
        return await self.backend.send(messages)


async def send_mail(
    connection: HTTPConnection | App,
    subject: str,
    body: str,
    to: Sequence[str],
    *,
    from_email: str = "",
    html: str | None = None,
) -> int:
    """Send one message with the app's :class:`Mail` (Django's ``send_mail``)::

    await send_mail(request, "Welcome", "Hello!", ["ada@example.com"])
    """
    app = connection if isinstance(connection, App) else connection.app
    message = EmailMessage(subject, body, to=list(to), from_email=from_email, html=html)
    return await Mail.of(app).send(message)
