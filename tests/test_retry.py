"""The one retry helper: delays, attempts, Retry-After, and the reconnect backoff."""

from __future__ import annotations

import math

import pytest

from openclaw.retry import Backoff, Delays, retry


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Flaky:
    """Fails with the given exceptions in turn, then answers "ok"."""

    def __init__(self, *failures: BaseException) -> None:
        self.failures = list(failures)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


class Slept(list[float]):
    async def __call__(self, delay: float) -> None:
        self.append(delay)


class RateLimited(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds}")
        self.seconds = seconds


def test_delays_grow_by_the_factor_up_to_the_longest():
    assert [Delays(1.0)[n] for n in range(4)] == [1.0, 2.0, 4.0, 8.0]
    assert [Delays(0.5, 3, 4.0)[n] for n in range(4)] == [0.5, 1.5, 4.0, 4.0]
    assert Delays(1.0)[5000] == math.inf and Delays(1.0, longest=30)[5000] == 30
    assert Delays(0)[10] == 0


async def test_a_transient_failure_is_retried_with_growing_delays():
    call, slept = Flaky(OSError("a"), OSError("b")), Slept()
    result = await retry(call, attempts=3, retry_on=OSError, delays=Delays(0.5), sleep=slept)
    assert (result, call.calls, slept) == ("ok", 3, [0.5, 1.0])


async def test_attempts_are_counted_and_the_last_failure_raised():
    call, slept = Flaky(*(OSError(str(n)) for n in range(5))), Slept()
    with pytest.raises(OSError, match="2"):
        await retry(call, attempts=3, retry_on=OSError, delays=Delays(1), sleep=slept)
    assert (call.calls, slept) == (3, [1, 2])


async def test_other_failures_are_raised_at_once():
    call, slept = Flaky(ValueError("bad request")), Slept()
    with pytest.raises(ValueError):
        await retry(
            call, attempts=5, retry_on=(OSError, TimeoutError), delays=Delays(1), sleep=slept
        )
    assert (call.calls, slept) == (1, [])


async def test_a_predicate_chooses_what_is_retried():
    call, slept = Flaky(RuntimeError("Session is closed"), RuntimeError("other")), Slept()
    with pytest.raises(RuntimeError, match="other"):
        await retry(
            call,
            attempts=5,
            retry_on=lambda exc: "closed" in str(exc),
            delays=Delays(1),
            sleep=slept,
        )
    assert call.calls == 2


async def test_retry_after_is_honoured_and_counts_as_an_attempt():
    call, slept, told = Flaky(RateLimited(7), OSError(), RateLimited(3)), Slept(), []
    result = await retry(
        call,
        attempts=4,
        retry_on=(RateLimited, OSError),
        delays=Delays(1),
        retry_after=lambda exc: exc.seconds if isinstance(exc, RateLimited) else None,
        on_retry=lambda exc, delay, n: told.append((type(exc).__name__, delay, n)),
        sleep=slept,
    )
    assert result == "ok"
    assert slept == [7, 2, 3]
    assert told == [("RateLimited", 7, 0), ("OSError", 2, 1), ("RateLimited", 3, 2)]


async def test_one_attempt_means_no_retry():
    with pytest.raises(OSError):
        await retry(Flaky(OSError()), attempts=1, retry_on=OSError, delays=Delays(1))
    with pytest.raises(ValueError):
        await retry(Flaky(), attempts=0, retry_on=OSError, delays=Delays(1))


# -- reconnecting (moved from the Discord plugin's tests) ---------------------------------------


def test_reconnect_delays_double_up_to_the_cap():
    backoff = Backoff(1.0, 8.0, Clock())
    assert [backoff.delay() for _ in range(6)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_a_short_session_keeps_the_series_going():
    clock = Clock()
    backoff = Backoff(1.0, 60.0, clock)
    assert [backoff.delay(), backoff.delay()] == [1.0, 2.0]
    backoff.connected()
    clock.now += 5  # up for a moment, then lost again: a flapping connection
    assert backoff.delay() == 4.0


def test_a_healthy_session_starts_the_series_over():
    clock = Clock()
    backoff = Backoff(1.0, 60.0, clock)
    for _ in range(4):
        backoff.delay()
    backoff.connected()
    clock.now += 60
    assert [backoff.delay(), backoff.delay()] == [1.0, 2.0]
