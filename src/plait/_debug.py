"""The traceback page shown for unhandled errors when ``App(debug=True)``; never in production."""

from __future__ import annotations

import html
import traceback

from plait._responses import HTMLResponse, PlainTextResponse, Response

__all__ = ["debug_response"]

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #1d1d1f; }}
h1 {{ color: #b00020; font-size: 1.4rem; }}
pre {{ background: #f6f6f6; padding: 1rem; overflow-x: auto; font-size: .85rem; }}
p.note {{ color: #666; }}
</style></head>
<body><h1>{title}</h1><p>{method} {path}</p><pre>{trace}</pre>
<p class="note">You see this page because the app runs with debug=True (or PLAIT_DEBUG=1).
Never enable debug in production.</p></body></html>
"""


def debug_response(exc: BaseException, method: str, path: str, accept: str) -> Response:
    """A 500 showing the traceback: HTML for browsers, plain text for everything else."""
    trace = "".join(traceback.format_exception(exc))
    title = f"{type(exc).__name__}: {exc}"
    if "text/html" in accept:
        page = _PAGE.format(
            title=html.escape(title),
            method=html.escape(method),
            path=html.escape(path),
            trace=html.escape(trace),
        )
        return HTMLResponse(page, status_code=500)
    return PlainTextResponse(trace, status_code=500)
