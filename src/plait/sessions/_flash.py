"""Flash messages: one-time notes for the next page (Flask's ``flash``, Django's messages)."""

from __future__ import annotations

from plait import HTTPConnection

__all__ = ["FLASHES_KEY", "flash", "get_flashed_messages"]

FLASHES_KEY = "_flashes"
"""The session key holding the pending messages, as ``[category, message]`` pairs."""


def flash(request: HTTPConnection, message: str, category: str = "info") -> None:
    """Keep ``message`` in the session until :func:`get_flashed_messages` reads it::

    flash(request, "Saved.", "success")
    return RedirectResponse("/articles", status_code=303)
    """
    session = request.session
    # A new list assigned (not appended in place), so the session knows it changed.
    session[FLASHES_KEY] = [*session.get(FLASHES_KEY, ()), [category, message]]


def get_flashed_messages(request: HTTPConnection) -> list[tuple[str, str]]:
    """The pending messages as ``(category, message)`` pairs, removed from the session::

    for category, message in get_flashed_messages(request): ...
    """
    session = request.session
    if FLASHES_KEY not in session:
        return []
    return [(str(category), str(message)) for category, message in session.pop(FLASHES_KEY)]
