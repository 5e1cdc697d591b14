"""Reconnect delays: exponential, capped, and started over after a healthy session."""

from __future__ import annotations

from openclaw.channel_support import Backoff


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_delays_double_up_to_the_cap():
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
