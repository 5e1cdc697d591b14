"""The one-off rewrite of 3-part session keys to today's 4-part form (`openclaw sessions
migrate`, and the gateway at start)."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from typing import Protocol, runtime_checkable

from openclaw.store.protocol import ProgressCallback


@runtime_checkable
class Transactional(Protocol):
    """A store whose SQL can be reached in one write transaction (`SqliteStore`)."""

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...


def migrate_keys(store: Transactional, progress: ProgressCallback | None = None) -> int:
    """Rewrite 3-part keys `prefix:agent:chat` to `prefix:agent:0:chat`; returns the count.

    When the 4-part key already has an active session, the old one is archived under the new
    key instead of merged: both histories stay intact and unmixed (a merge would interleave two
    conversations and could separate a tool call from its result), and the active conversation
    carries on untouched. One transaction: a failure leaves every key as it was.
    """
    with store.transaction() as db:
        rows = db.execute(
            "SELECT id, key, archived FROM sessions "
            "WHERE length(key) - length(replace(key, ':', '')) = 2"
        ).fetchall()
        for done, (session_id, key, archived) in enumerate(rows, start=1):
            if progress is not None:
                progress(done, len(rows))
            prefix, agent, chat = key.split(":")
            new_key = f"{prefix}:{agent}:0:{chat}"
            active = "SELECT 1 FROM sessions WHERE key = ? AND archived = 0"
            clash = not archived and db.execute(active, [new_key]).fetchone()
            db.execute(
                "UPDATE sessions SET key = ?, archived = ? WHERE id = ?",
                [new_key, 1 if clash else archived, session_id],
            )
    return len(rows)
