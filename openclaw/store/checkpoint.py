"""WAL checkpoints, and the WAL's restarts, off the commit path.

SQLite's automatic checkpoint runs inside the commit that crosses 1,000 WAL pages, so every
few hundred appends one turn pays several milliseconds for it. `SqliteStore` turns that off
(`PRAGMA wal_autocheckpoint = 0`) and tells a `Checkpointer` of each commit; every `every`
commits a daemon thread runs a passive checkpoint on its own connection, which copies what no
reader still needs into the database file without blocking writers or readers. A kill -9
loses nothing: the WAL is the committed data, replayed at the next open.

The first commit into a WAL that starts afresh (after the store opens, whose last close removed
the WAL, and after a checkpoint that copied all of it) writes a new WAL header and waits for
two `fdatasync`s (0.5 to 6 ms on a busy disk). The thread pays that instead of a turn: at the
start and after each complete checkpoint it calls `prime`, a commit that rewrites the header
page (`SqliteStore` runs it on its own connection, so its history cache stays valid).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_EVERY = 100


class Checkpointer:
    """Runs `PRAGMA wal_checkpoint(PASSIVE)` in a background thread every `every` commits,
    and `prime` when the store opens and after each checkpoint that emptied the WAL."""

    def __init__(
        self, path: Path, every: int = DEFAULT_EVERY, prime: Callable[[], None] | None = None
    ) -> None:
        self.path = path
        self.every = every
        self.prime = prime
        self.runs = 0  # checkpoints done, for tests and the curious
        self.primed = 0  # WAL restarts paid by the thread
        self._commits = 0
        self._wake = threading.Event()
        self._closing = False
        self._priming = False  # a prime is due (set by `start`)
        self._due = False  # a checkpoint is due (set by `committed`)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Prime the WAL now, in the thread, so the first commit after an open does not."""
        if self.prime is not None:
            self._priming = True
            self._kick()

    def committed(self) -> None:
        """Count one commit; wake the thread (started on first need) every `every` of them."""
        self._commits += 1
        if self._commits < self.every or self._closing:
            return
        self._commits = 0
        self._due = True
        self._kick()

    def _kick(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name=f"store-checkpoint:{self.path.name}", daemon=True
            )
            self._thread.start()
        self._wake.set()

    def close(self) -> None:
        """Stop the thread (the last connection's close checkpoints what is left) and let go of
        `prime`: a store's bound method, so holding it would keep a closed store (and its
        history cache) alive until a full garbage collection."""
        self._closing = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.prime = None

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._closing:
                    return
                if self._priming:
                    self._priming = False
                    self._prime()
                if not self._due:
                    continue
                self._due = False
                try:
                    busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    self.runs += 1
                except sqlite3.Error as exc:  # a busy file or a full disk: the next one retries
                    log.warning("WAL checkpoint of %s failed: %s", self.path, exc)
                    continue
                if not busy and frames > 0 and frames == copied:
                    self._prime()  # all copied: the next commit restarts the WAL
        finally:
            conn.close()

    def _prime(self) -> None:
        prime = self.prime  # `close` may drop it meanwhile
        if prime is None or self._closing:
            return
        try:
            prime()
            self.primed += 1
        except sqlite3.Error as exc:  # busy or read-only: a commit pays for the restart then
            log.debug("priming the WAL of %s skipped: %s", self.path, exc)
        except Exception:  # never the thread's end: its checkpoints still matter
            log.exception("priming the WAL of %s failed", self.path)
