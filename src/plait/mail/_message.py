"""``EmailMessage``: one message, turned into a standard-library MIME message to send."""

from __future__ import annotations

import email.message
import email.utils
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["EmailMessage"]


@dataclass
class EmailMessage:
    """A plain-text message (``html`` adds an HTML alternative)::

    EmailMessage("Hello", "Hi Ada!", to=["ada@example.com"], from_email="site@example.com")
    """

    subject: str
    body: str
    to: Sequence[str] = ()
    from_email: str = ""
    html: str | None = None
    cc: Sequence[str] = ()
    bcc: Sequence[str] = ()
    reply_to: Sequence[str] = ()
    headers: Mapping[str, str] = field(default_factory=dict)

    def recipients(self) -> list[str]:
        """Everyone it goes to: ``to``, ``cc`` and ``bcc``."""
        return [*self.to, *self.cc, *self.bcc]

    def to_mime(self) -> email.message.EmailMessage:
        """The message as the standard library builds it (``Bcc`` is left out)."""
        for value in (self.subject, self.from_email, *self.recipients(), *self.reply_to):
            if "\n" in value or "\r" in value:
                raise ValueError("Header values cannot contain newlines (header injection)")
        message = email.message.EmailMessage()
        message["Subject"] = self.subject
        message["From"] = self.from_email
        if self.to:
            message["To"] = ", ".join(self.to)
        if self.cc:
            message["Cc"] = ", ".join(self.cc)
        if self.reply_to:
            message["Reply-To"] = ", ".join(self.reply_to)
        message["Date"] = email.utils.formatdate(localtime=False)
        message["Message-ID"] = email.utils.make_msgid()
        for name, value in self.headers.items():
            message[name] = value
        message.set_content(self.body)
        if self.html is not None:
            message.add_alternative(self.html, subtype="html")
        return message
