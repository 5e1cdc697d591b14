"""Virtual time for tests of the cron executor (`openclaw.gateway.cron`): no test sleeps
through real minutes."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any


class VirtualClock:
    """Each sleep returns at once with the clock moved to its end, but only once the executor
    (`executor`, set by the test) has no job running, so every run sees the instant it was due.
    A sleep that would pass `end` sets `finished` and blocks until the executor is stopped."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.current = start
        self.end = end
        self.executor: Any = None
        self.sleeps: list[float] = []
        self.finished = asyncio.Event()

    def now(self) -> datetime:
        return self.current

    async def sleep(self, seconds: float) -> None:
        if self.executor is not None:
            await self.executor.idle()
        target = self.current + timedelta(seconds=seconds)
        if target > self.end:
            self.finished.set()
            await asyncio.Event().wait()
        self.sleeps.append(seconds)
        self.current = target

    def attach(self, executor: Any) -> None:
        """Make this the executor's clock (before it starts)."""
        self.executor = executor
        executor.clock = self

    async def run(self, executor: Any, timeout: float = 30.0) -> None:
        """Run `executor` from the start to the end of this clock, then stop it."""
        self.attach(executor)
        executor.start()
        try:
            await asyncio.wait_for(self.finished.wait(), timeout)
        finally:
            await executor.stop()
