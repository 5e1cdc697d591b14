"""Delays between attempts to reach Discord's gateway again."""

from __future__ import annotations

import time
from collections.abc import Callable


class Backoff:
    """Exponential delays from `first` doubling to `longest`; a connection that stayed up for
    `longest` seconds (a healthy session) starts the series over."""

    def __init__(
        self, first: float, longest: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.first = first
        self.longest = longest
        self.clock = clock
        self._next = first
        self._up_since: float | None = None

    def connected(self) -> None:
        """The gateway accepted us (READY or RESUMED)."""
        if self._up_since is None:
            self._up_since = self.clock()

    def delay(self) -> float:
        """How long to wait before the next attempt, after the connection was lost or could
        not be made."""
        if self._up_since is not None and self.clock() - self._up_since >= self.longest:
            self._next = self.first
        self._up_since = None
        delay = self._next
        self._next = min(delay * 2, self.longest)
        return delay
