"""The bench's progress: a line on a terminal, redrawn in place; nothing when piped.

It is plait's own ``Progress`` (the one ``plait collectstatic`` and ``plait db migrate``
show): it appears once a run has taken a second, says which repeat it is on and for how
long, and goes quiet when stderr is not a terminal. Result lines go through :func:`say`,
which clears the progress line first so the two never share a line.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from plait._progress import Progress

__all__ = ["job", "say"]


def say(text: str, *, out: TextIO | None = None, err: TextIO | None = None) -> None:
    """Print one result line; on a terminal, first clear a progress line that may be there."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    if out.isatty() and err.isatty():
        err.write("\r\x1b[K")
        err.flush()
    print(text, file=out, flush=True)


def job(label: str, total: int, *, stream: TextIO | None = None, delay: float = 1.0) -> Progress:
    """The progress line of a whole bench run: ``total`` steps (repeats times parts)."""
    # Imported here: run.py parses its arguments (importing this module) before the bench
    # venv, where plait is installed, exists.
    from plait._progress import Progress

    return Progress(label, total=total, stream=stream, delay=delay)
