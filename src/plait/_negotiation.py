"""Content negotiation: does the client want an HTML page or JSON?"""

from __future__ import annotations

__all__ = ["prefers_html"]

_HTML = ("text/html", "application/xhtml+xml")
_JSON = ("application/json", "application/problem+json")


def prefers_html(accept: str) -> bool:
    """Whether an ``Accept`` header asks for HTML over JSON (a browser, not an API client).

    ``*/*`` alone (curl, httpx, fetch) is not a preference for HTML.
    """
    html = json = 0.0
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.lower()
        if media in _HTML:
            html = max(html, quality)
        elif media in _JSON:
            json = max(json, quality)
    return html > 0 and html >= json
