"""Retrying with backoff, in one place: the delays (`Delays`), a call retried a few times
(`retry`, for a channel's API requests and the reply renderer) and the delays between attempts
to connect again (`Backoff`, for channels and the gateway's supervisor)."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

RetryOn = type[BaseException] | tuple[type[BaseException], ...] | Callable[[BaseException], bool]
"""Which failures are worth another attempt: exception classes, or a predicate."""


@dataclass(frozen=True, slots=True)
class Delays:
    """Exponential delays: `first`, then each `factor` times the one before, at most `longest`."""

    first: float
    factor: float = 2.0
    longest: float = math.inf

    def __getitem__(self, attempt: int) -> float:
        """The delay after failed attempt number `attempt` (0 for the first)."""
        if self.first == 0:
            return 0.0
        try:
            return min(self.first * self.factor**attempt, self.longest)
        except OverflowError:
            return self.longest

    def __iter__(self) -> Iterator[float]:
        attempt = 0
        while True:
            yield self[attempt]
            attempt += 1


def _retryable(retry_on: RetryOn, exc: BaseException) -> bool:
    if isinstance(retry_on, type | tuple):
        return isinstance(exc, retry_on)
    return retry_on(exc)


async def retry(
    call: Callable[[], Awaitable[T]],
    *,
    attempts: int,
    retry_on: RetryOn,
    delays: Delays,
    retry_after: Callable[[BaseException], float | None] | None = None,
    on_retry: Callable[[BaseException, float, int], None] | None = None,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> T:
    """`call()`'s result, trying at most `attempts` times while it fails with what `retry_on`
    names; the last failure, or any other, is raised. Between attempts it sleeps the delay the
    failure asked for (`retry_after`, e.g. a 429's Retry-After; None when it asked for none),
    else `delays[n]` after failed attempt n; `on_retry(failure, delay, n)` is told first."""
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    attempt = 0
    while True:
        try:
            return await call()
        except Exception as exc:
            if attempt + 1 >= attempts or not _retryable(retry_on, exc):
                raise
            asked = retry_after(exc) if retry_after is not None else None
            delay = delays[attempt] if asked is None else asked
            if on_retry is not None:
                on_retry(exc, delay, attempt)
        attempt += 1
        await sleep(delay)


class Backoff:
    """Delays between attempts to connect again, from `first` doubling to `longest`; a
    connection that stayed up for `longest` seconds (a healthy session) starts the series over."""

    def __init__(
        self, first: float, longest: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.first = first
        self.longest = longest
        self.clock = clock
        self._delays = Delays(first, 2.0, longest)
        self._attempt = 0
        self._up_since: float | None = None

    def connected(self) -> None:
        """The connection is up (READY or RESUMED; a channel's `run` began)."""
        if self._up_since is None:
            self._up_since = self.clock()

    def delay(self) -> float:
        """How long to wait before the next attempt, after the connection was lost or could
        not be made."""
        if self._up_since is not None and self.clock() - self._up_since >= self.longest:
            self._attempt = 0
        self._up_since = None
        delay = self._delays[self._attempt]
        if delay < self.longest:
            self._attempt += 1
        return delay
