"""What a browser submits for an HTML form, without a browser: the fields' values after the
browser's own value sanitization (WHATWG HTML), for the admin's no-browser tests."""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["submitted"]

_NEWLINES = re.compile(r"[\r\n]")


class _FormParser(HTMLParser):
    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self._textarea: str | None = None
        self._text: list[str] = []
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._option: tuple[str | None, bool] | None = None
        self._option_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v if v is not None else "" for k, v in attrs}
        if tag == "form":
            self.inside = found.get("id") == self.form_id
            return
        if not self.inside or "disabled" in found:
            return
        name = found.get("name")
        if tag == "input" and name:
            kind = found.get("type", "text")
            value = found.get("value", "")
            if kind in ("submit", "button", "reset", "image", "file"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in found:
                    self.fields.append((name, found.get("value", "on")))
                return
            if kind in ("text", "search", "password", "tel", "hidden"):
                value = _NEWLINES.sub("", value) if kind != "hidden" else value
            elif kind in ("email", "url"):
                value = _NEWLINES.sub("", value).strip()
            self.fields.append((name, value))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []
        elif tag == "select" and name:
            self._select, self._options = name, []
        elif tag == "option" and self._select is not None:
            self._option, self._option_text = (found.get("value"), "selected" in found), []

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)
        elif self._option is not None:
            self._option_text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "textarea" and self._textarea is not None:
            text = "".join(self._text)
            if text.startswith("\n"):  # the parser drops a newline right after <textarea>
                text = text[1:]
            # The value normalizes line breaks to LF; submitting turns them into CRLF.
            text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")
            self.fields.append((self._textarea, text))
            self._textarea = None
        elif tag == "option" and self._option is not None:
            value, selected = self._option
            self._options.append(
                (value if value is not None else "".join(self._option_text), selected)
            )
            self._option = None
        elif tag == "select" and self._select is not None:
            chosen = [v for v, selected in self._options if selected] or [
                v for v, _ in self._options[:1]
            ]
            self.fields.extend((self._select, v) for v in chosen[-1:])
            self._select = None


def submitted(page: str, form_id: str) -> list[tuple[str, str]]:
    """The (name, value) pairs the form ``id=form_id`` of ``page`` submits untouched."""
    parser = _FormParser(form_id)
    parser.feed(page)
    parser.close()
    return parser.fields
