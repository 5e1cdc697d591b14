"""Progress for long work (pruning or migrating a large store, loading a model): one line on
stderr rewritten in place while a terminal watches, and nothing at all otherwise (pipes, logs,
services, tests), so machine-read output stays clean."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO

CLEAR = "\r\x1b[K"


class Progress:
    """`with Progress("pruning") as bar: bar.update(done, total)`; `update` may be called as
    often as wanted (the line is redrawn at most every `interval` seconds)."""

    def __init__(self, label: str, stream: TextIO | None = None, interval: float = 0.1) -> None:
        self.label = label
        self.stream = sys.stderr if stream is None else stream
        self.interval = interval
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = bool(isatty and isatty())
        self._shown = False
        self._last = 0.0

    def _draw(self, text: str) -> None:
        self.stream.write(f"{CLEAR}{text}")
        self.stream.flush()
        self._shown = True

    def show(self) -> None:
        """Just the label (`loading model…`), for work without a count."""
        if self.enabled:
            self._draw(f"{self.label}…")

    def update(self, done: int, total: int | None = None) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < self.interval and done != total:
            return
        self._last = now
        if total:
            self._draw(f"{self.label}: {done}/{total} ({100 * done // total}%)")
        else:
            self._draw(f"{self.label}: {done}")

    def close(self) -> None:
        """Erase the line, so the command's own result is what stays on screen."""
        if self._shown:
            self.stream.write(CLEAR)
            self.stream.flush()
            self._shown = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
