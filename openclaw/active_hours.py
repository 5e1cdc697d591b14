"""Active hours (`08:00-22:00`): parsed here, below the config that validates them and the
heartbeat that keeps to them."""

from __future__ import annotations

import re
from datetime import time

_HOURS = re.compile(r"^\s*(\d{1,2}):(\d\d)\s*-\s*(\d{1,2}):(\d\d)\s*$")


def parse_active_hours(text: str) -> tuple[time, time]:
    """`08:00-22:00` as (start, end); an end before the start wraps past midnight
    (`22:00-06:00`), and `24:00` means the end of the day."""
    match = _HOURS.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a range of times like '08:00-22:00'")
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
        raise ValueError(f"{text!r} has a time that does not exist")
    if (h1, m1) == (h2, m2):
        raise ValueError(f"{text!r} is empty: start and end are the same time")
    end = time.max if h2 == 24 else time(h2, m2)
    return time(h1, m1), end
