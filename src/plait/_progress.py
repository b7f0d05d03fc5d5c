"""Progress for CLI jobs that can take more than a second: on a terminal only.

A job shows nothing for its first second (most finish sooner); then a line on stderr,
redrawn in place, says what it is doing, how far it got and for how long. Piped or
redirected, it stays quiet, so logs and scripts get only the command's own output::

    with Progress("collecting static files", total=len(files)) as progress:
        for file in files:
            copy(file)
            progress.advance()
"""

from __future__ import annotations

import sys
import threading
import time
from types import TracebackType
from typing import TextIO

__all__ = ["Progress"]

_FRAMES = "|/-\\"


class Progress:
    """A progress line for one job (a context manager; a thread redraws it)."""

    def __init__(
        self,
        label: str,
        *,
        total: int | None = None,
        delay: float = 1.0,
        stream: TextIO | None = None,
        interval: float = 0.1,
    ) -> None:
        self.label = label
        self.total = total
        self.count = 0
        self.delay = delay
        self.interval = interval
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty()
        self.shown = False
        self._started = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._final: str | None = None

    def __enter__(self) -> Progress:
        self._started = time.monotonic()
        if self.enabled:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def advance(self, steps: int = 1) -> None:
        """Count ``steps`` more units of work done."""
        self.count += steps

    def done(self, message: str) -> None:
        """What the last line says, if one was shown (``"installed"``)."""
        self._final = message

    def line(self, frame: int = 0) -> str:
        """The progress line as it reads now."""
        elapsed = time.monotonic() - self._started
        if self.total:
            where = f" {self.count}/{self.total} ({100 * self.count // self.total}%)"
        else:
            where = f" {_FRAMES[frame % len(_FRAMES)]}"
        return f"{self.label}{where} {elapsed:.1f} s"

    def _run(self) -> None:
        if self._stop.wait(self.delay):
            return
        frame = 0
        while not self._stop.is_set():
            self.shown = True
            self.stream.write("\r\x1b[K" + self.line(frame))
            self.stream.flush()
            frame += 1
            self._stop.wait(self.interval)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.shown:
            elapsed = time.monotonic() - self._started
            final = self._final or ("interrupted" if kind is not None else "done")
            self.stream.write(f"\r\x1b[K{self.label}: {final} ({elapsed:.1f} s)\n")
            self.stream.flush()
