"""WAL checkpoints off the commit path.

SQLite's automatic checkpoint runs inside the commit that crosses 1,000 WAL pages, so every
few hundred appends one turn pays several milliseconds for it. `SqliteStore` turns that off
(`PRAGMA wal_autocheckpoint = 0`) and tells a `Checkpointer` of each commit; every `every`
commits a daemon thread runs a passive checkpoint on its own connection, which copies what no
reader still needs into the database file without blocking writers or readers. A kill -9
loses nothing: the WAL is the committed data, replayed at the next open.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_EVERY = 100


class Checkpointer:
    """Runs `PRAGMA wal_checkpoint(PASSIVE)` in a background thread every `every` commits."""

    def __init__(self, path: Path, every: int = DEFAULT_EVERY) -> None:
        self.path = path
        self.every = every
        self.runs = 0  # checkpoints done, for tests and the curious
        self._commits = 0
        self._wake = threading.Event()
        self._closing = False
        self._thread: threading.Thread | None = None

    def committed(self) -> None:
        """Count one commit; wake the thread (started on first need) every `every` of them."""
        self._commits += 1
        if self._commits < self.every or self._closing:
            return
        self._commits = 0
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name=f"store-checkpoint:{self.path.name}", daemon=True
            )
            self._thread.start()
        self._wake.set()

    def close(self) -> None:
        """Stop the thread (the last connection's close checkpoints what is left)."""
        self._closing = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._closing:
                    return
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    self.runs += 1
                except sqlite3.Error as exc:  # a busy file or a full disk: the next one retries
                    log.warning("WAL checkpoint of %s failed: %s", self.path, exc)
        finally:
            conn.close()
