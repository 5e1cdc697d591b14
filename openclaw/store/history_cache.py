"""Recent sessions' histories in memory, so a turn does not decode the same rows every round.

A turn reads its session's history once per model round and once more on the next message; the
rows are the same but for the few appended since. `HistoryCache` keeps, per session key, the
newest messages last read, extended by the store's own appends and dropped by its other writes.
The least recently used sessions leave beyond `size` sessions or `total_rows` messages in all:
the row bound is what keeps its memory bounded, the session bound only its bookkeeping, so
more users than a fixed number of sessions taking turns in rotation still find theirs.
Another connection's write (the CLI, a second gateway) changes SQLite's `PRAGMA data_version`,
and the whole cache is dropped then.

The `Message` objects are shared by every caller of `history`: nobody may mutate them (the
`tool_calls` of a message without calls is the shared `rows.NO_CALLS`, which raises if changed).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import OrderedDict
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Self

from openclaw.messages import Message
from openclaw.store.rows import MessageRow, row_message, text_cost

DEFAULT_SESSIONS = 1024
DEFAULT_ROWS = 4096  # per session: more than a 12,000-token budget can ever need (3,001)
DEFAULT_TOTAL_ROWS = 32768  # in all sessions: about 11 MiB of short chat lines


@dataclass(slots=True)
class CachedHistory:
    """The newest messages of one active session, oldest first, with their costs as running
    totals (so a read within a budget is a bisection, not a walk over every message)."""

    session_id: int
    complete: bool  # the first message is the session's first
    messages: list[Message] = field(default_factory=list)
    # totals[i]: the costs (the lower bound of `message_tokens`) of the messages before
    # messages[i], from an arbitrary origin (totals[0]); one more than there are messages
    totals: list[int] = field(default_factory=lambda: [0])

    @classmethod
    def of(cls, session_id: int, complete: bool, messages: list[Message], costs: list[int]) -> Self:
        """From messages and their costs, oldest first."""
        return cls(session_id, complete, messages, list(accumulate(costs, initial=0)))

    def add(self, row: MessageRow) -> None:
        self.messages.append(row_message(row))
        self.totals.append(self.totals[-1] + text_cost(row[2]))

    def trim(self, start: int) -> int:
        """Forget the messages before index `start`; how many were forgotten."""
        if start <= 0:
            return 0
        start = min(start, len(self.messages))
        del self.messages[:start], self.totals[:start]
        self.complete = False
        return start

    def select(self, limit: int | None, tokens: int | None) -> list[Message] | None:
        """What `SqliteStore.history(limit=, tokens=)` returns (after its own limit arithmetic),
        or None when the answer reaches older messages than the cache holds.

        Newest first, a message is taken while fewer than `limit` are and the newer ones cost
        at most `tokens` (the one that crosses the budget is taken): the newest `m` cost
        `totals[n] - totals[n - m]`, so the most within the budget is where `totals` first
        reaches `totals[n] - tokens`."""
        totals, n = self.totals, len(self.messages)
        count = n
        if tokens is not None:
            count = min(n, n - bisect_left(totals, totals[n] - tokens) + 1)
        if limit is not None:
            count = min(count, limit)
        if count == n and not self.complete:  # all taken: were older ones wanted?
            within = tokens is None or totals[n] - totals[0] <= tokens
            if within and (limit is None or n < limit):
                return None
        start = n - count
        if tokens is not None:
            # results at the cut: reach back to the call they answer
            while count and self.messages[start].role == "tool":
                if start == 0:
                    if not self.complete:
                        return None
                    break
                start -= 1
        return self.messages[start:]


class HistoryCache:
    """Per session key, a `CachedHistory`; the store calls it under its lock."""

    def __init__(
        self,
        size: int = DEFAULT_SESSIONS,
        rows: int = DEFAULT_ROWS,
        total_rows: int = DEFAULT_TOTAL_ROWS,
    ) -> None:
        self.size = size
        self.rows = rows
        self.total_rows = total_rows
        self.hits = 0
        self.misses = 0
        self.held = 0  # messages in all entries
        self._entries: OrderedDict[str, CachedHistory] = OrderedDict()
        self._version: int | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def check(self, data_version: int) -> None:
        """Drop everything if another connection wrote since the last check."""
        if data_version != self._version:
            self.clear()
            self._version = data_version

    def get(self, key: str, limit: int | None, tokens: int | None) -> list[Message] | None:
        """The history from memory, or None (then read the file and `put` what was read)."""
        entry = self._entries.get(key)
        chosen = None if entry is None else entry.select(limit, tokens)
        if chosen is None:
            self.misses += 1
            return None
        assert entry is not None
        self._entries.move_to_end(key)
        self.hits += 1
        if tokens is not None:
            # the next turn needs these and the few appended after: keep no older ones
            self.held -= entry.trim(len(entry.messages) - len(chosen))
        return chosen

    def put(
        self,
        key: str,
        session_id: int,
        messages: list[Message],
        costs: list[int],
        *,
        complete: bool,
    ) -> None:
        """Remember what a read found: messages and their `text_cost`s, oldest first."""
        self._store(key, CachedHistory.of(session_id, complete, messages, costs))

    def appended(self, key: str, session_id: int, created: bool, rows: list[MessageRow]) -> None:
        """The store committed `rows` to the key's active session (`created` by this write)."""
        entry = self._entries.get(key)
        if created:
            entry = CachedHistory(session_id, complete=True)
        elif entry is None:
            return
        elif entry.session_id != session_id:
            self.drop(key)
            return
        else:
            self.drop(key)  # stored again below, with its new rows, as the most recent
        for row in rows:
            entry.add(row)
        self._store(key, entry)

    def drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.held -= len(entry.messages)

    def clear(self) -> None:
        self._entries.clear()
        self.held = 0

    def _store(self, key: str, entry: CachedHistory) -> None:
        entry.trim(len(entry.messages) - self.rows)
        self.drop(key)
        self._entries[key] = entry
        self.held += len(entry.messages)
        self._evict()

    def _evict(self) -> None:
        """Drop the least recently used sessions beyond the bounds (the newest one stays)."""
        while len(self._entries) > self.size or (
            self.held > self.total_rows and len(self._entries) > 1
        ):
            _, entry = self._entries.popitem(last=False)
            self.held -= len(entry.messages)
