"""`SqliteStore`: the `SessionStore` on one SQLite file, shareable by the CLI and the gateway.

The API is synchronous on purpose: each call is sub-millisecond, so the async code calls it
directly instead of paying for a thread hop. It runs on plain `sqlite3`; the schema and its
migrations are `openclaw.store.schema`, the recent histories are kept by
`openclaw.store.history_cache`, and WAL checkpoints run off the commit path
(`openclaw.store.checkpoint`).
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self, cast

from openclaw.messages import Message, message_tokens
from openclaw.store import schema
from openclaw.store.checkpoint import DEFAULT_EVERY, Checkpointer
from openclaw.store.history_cache import DEFAULT_SESSIONS, HistoryCache
from openclaw.store.protocol import ProgressCallback
from openclaw.store.rows import (
    HISTORY_COLUMNS,
    INBOUND_COLUMNS,
    NO_CALLS,
    PLAIN_ROLES,
    HistoryRow,
    Inbound,
    MessageRow,
    SessionInfo,
    StoreStats,
    dicts,
    history_message,
    message_row,
    row_tuple,
    text_cost,
)

PRUNE_BATCH = 500
_new = object.__new__

_INFO_SQL = """
SELECT s.key, s.channel, s.created_at, s.updated_at, s.model, s.message_count, s.tokens
FROM sessions s
WHERE s.archived = 0 AND ({where})
ORDER BY s.updated_at DESC, s.id DESC
"""


# A session's messages are one range of ids (`schema.message_ids`), read as a range of the
# table, newest first (LIMIT -1: none).
_HISTORY_SQL = (
    f"SELECT {HISTORY_COLUMNS} FROM messages WHERE id BETWEEN ? AND ? ORDER BY id DESC LIMIT ?"
)
_CHUNK = 64  # rows fetched at a time within a budget: at most this many read past the cut


def _next_chunk(count: int, used: int, limit: int, tokens: int) -> int:
    """How many rows to fetch after `count` rows that cost `used`: a chunk, or fewer when the
    rest of the budget holds fewer at their cost a row (plus the row that crosses it and one
    to see the end by), so the usual read past the cut is a row, not most of a chunk; then one
    at a time (the results at the cut reaching back to their call)."""
    if used > tokens or count >= limit:
        return 1
    return min(_CHUNK, (tokens - used) * count // used + 2, limit - count + 1)


def _within(
    cursor: sqlite3.Cursor, limit: int, tokens: int
) -> tuple[list[Message], list[int], bool]:
    """The messages of the newest rows, newest first, whose newer rows cost at most `tokens` by
    the lower bound of `message_tokens` (a superset of what `select_history` keeps for that
    budget), at most `limit` of them, then any older rows up to the call that the oldest results
    answer; their costs; and whether the read reached the session's first message. Fetches in
    chunks sized by `_next_chunk` and stops at the cut, so what SQLite reads is bounded by the
    budget, not by the session's length."""
    messages: list[Message] = []
    costs: list[int] = []
    used = 0
    size = min(_CHUNK, limit + 1)
    while chunk := cursor.fetchmany(size):
        for row in chunk:
            content, created_at, kind = row
            if (used > tokens or len(costs) >= limit) and (
                not messages or messages[-1].role != "tool"
            ):
                return messages, costs, False
            cost = 4 + (len(content) + 3) // 4  # `text_cost`, inlined
            used += cost
            costs.append(cost)
            if type(kind) is int:
                # `history_message` of a plain message, without the dataclass `__init__` (a
                # third of the row's Python time); every field is set
                # (`test_round_trips_every_message_shape` compares every field)
                message = _new(Message)
                message.role = PLAIN_ROLES[kind]
                message.content = content
                message.tool_calls = NO_CALLS
                message.tool_call_id = message.name = None
                message.is_error = False
                message.created_at = created_at
                messages.append(message)
            else:
                messages.append(history_message(row))
        size = _next_chunk(len(costs), used, limit, tokens)
    return messages, costs, True


# the next id of the session's range (`schema.message_ids`: `first` and `last`)
_INSERT_MESSAGE = """
INSERT INTO messages (id, session_id, role, content, parts, tool_calls, tool_call_id, name,
                      is_error, tokens, model, created_at)
VALUES (COALESCE((SELECT id FROM messages WHERE id BETWEEN :first AND :last
                  ORDER BY id DESC LIMIT 1) + 1, :first),
        :session_id, :role, :content, :parts, :tool_calls, :tool_call_id, :name, :is_error,
        :tokens, :model, :created_at)
"""


# The statements of a turn, named so that `_warm_statements` prepares the very same texts.
_ACTIVE_SQL = "SELECT id FROM sessions WHERE key = ? AND archived = 0"
_DATA_VERSION_SQL = "PRAGMA data_version"  # another connection's commit changes it
_MODEL_SQL = "SELECT model FROM sessions WHERE key = ? AND archived = 0"
_BY_KEY = "s.key = ?"
_NEW_SESSION_SQL = "INSERT INTO sessions (key, channel, created_at, updated_at) VALUES (?, ?, ?, ?)"
_TOUCH_SQL = "UPDATE sessions SET updated_at = ? WHERE id = ?"
_FORGET_FINISHED_SQL = "DELETE FROM inbound WHERE state = 'finished' AND updated_at < ?"
_RECORD_SQL = """INSERT INTO inbound (channel, delivery_id, chat_id, message_id, payload,
received_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (channel, delivery_id) DO NOTHING"""
_START_SQL = """UPDATE inbound SET state = 'started', session_key = :key,
base = COALESCE(:base, (SELECT message_count FROM sessions WHERE key = :key AND archived = 0), 0),
turn_id = :turn, updated_at = :now WHERE channel = :channel AND delivery_id = :delivery"""
_REPLY_SQL = "UPDATE inbound SET reply_id = ? WHERE channel = ? AND delivery_id = ?"
_FINISH_SQL = """UPDATE inbound SET state = 'finished', payload = '', updated_at = ?
WHERE channel = ? AND delivery_id = ?"""


def _warm_statements(db: sqlite3.Connection) -> None:
    """Run each statement of a turn once inside the caller's write transaction, on rows made
    for it and rolled back, so the connection's statement cache holds them compiled (a first
    INSERT into messages compiles its counting trigger too: ~0.25 ms of a cold turn)."""
    db.execute("SAVEPOINT warm")
    try:
        key, channel = "\0warm:\0:\0:\0", "\0warm"
        db.execute(_DATA_VERSION_SQL).fetchall()  # its first run on a connection: ~0.03 ms
        db.execute(_ACTIVE_SQL, [key]).fetchall()
        db.execute(_MODEL_SQL, [key]).fetchall()
        db.execute(_INFO_SQL.format(where=_BY_KEY), [key]).fetchall()
        session_id = db.execute(_NEW_SESSION_SQL, [key, channel, 0.0, 0.0]).lastrowid
        row = message_row(Message("user", ""))
        first, last = schema.message_ids(session_id)
        row.update(session_id=session_id, tokens=0, model=None, first=first, last=last)
        db.execute(_INSERT_MESSAGE, row)
        db.execute(_TOUCH_SQL, [0.0, session_id])
        db.execute(_HISTORY_SQL, [first, last, 1]).fetchall()
        db.execute(_FORGET_FINISHED_SQL, [-1.0])
        db.execute(_RECORD_SQL, [channel, "", "", "", "", 0.0, 0.0])
        start = {"key": key, "base": None, "turn": "", "now": 0.0}
        db.execute(_START_SQL, {**start, "channel": channel, "delivery": ""})
        db.execute(_REPLY_SQL, ["", channel, ""])
        db.execute(_FINISH_SQL, [0.0, channel, ""])
    finally:
        db.execute("ROLLBACK TO warm")
        db.execute("RELEASE warm")


def _channel(key: str) -> str:
    return key.split(":", 1)[0]


class SqliteStore:
    """`SessionStore` on one SQLite file in WAL mode, shareable by the CLI and the gateway.

    Every write runs in a `BEGIN IMMEDIATE` transaction: a crash mid-append leaves no half message,
    and a second process waits for the write lock (`busy_timeout`) instead of failing. A lock makes
    one store object safe to share between threads.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        busy_timeout: float = 5.0,
        clock: Callable[[], float] = time.time,
        cache_sessions: int = DEFAULT_SESSIONS,
        checkpoint_every: int = DEFAULT_EVERY,
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._lock = threading.RLock()
        self.cache = HistoryCache(cache_sessions)
        self.checkpointer = Checkpointer(self.path, checkpoint_every, prime=self._prime_wal)
        # autocommit mode: every transaction is the explicit BEGIN of `_write` or `_read`
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db = conn
        try:
            self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            self._db.execute("PRAGMA journal_mode = wal")
            # NORMAL is durable against application crashes in WAL mode; only an OS crash or
            # power loss can drop the last commits, never corrupt the file.
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            # commits never checkpoint: `self.checkpointer` does it in the background
            self._db.execute("PRAGMA wal_autocheckpoint = 0")
            schema.migrate(self._db)
        except BaseException:
            conn.close()  # a failed open (a migration bug, a locked file) leaks no connection
            raise
        self._busy_timeout_ms = int(busy_timeout * 1000)
        self._warmed = False
        self.checkpointer.start()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.checkpointer.close()
        with self._lock:
            self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; taking the write lock up front (IMMEDIATE) lets SQLite wait for
        another process instead of failing when a read would upgrade to a write."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                self._db.rollback()
                raise
            self.checkpointer.committed()

    def _prime_wal(self) -> None:
        """A commit that changes nothing but makes SQLite start the WAL afresh if it is due
        (`openclaw.store.checkpoint`), on this connection so the history cache stays valid;
        the first one also compiles a turn's statements (`_warm_statements`). Run by the
        checkpoint thread; it never waits for another process's write lock."""
        with self._lock:
            self._db.execute("PRAGMA busy_timeout = 0")
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    if not self._warmed:
                        _warm_statements(self._db)
                        self._warmed = True
                    version = self._db.execute("PRAGMA user_version").fetchone()[0]
                    self._db.execute(f"PRAGMA user_version = {int(version)}")
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.rollback()
                    raise
            finally:
                self._db.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction for work beyond this class's methods (`key_migration`): the
        connection, committed on success, rolled back on an exception. The history cache is
        dropped afterwards, as anything may have changed."""
        with self._lock:
            try:
                with self._write() as db:
                    yield db
            finally:
                self.cache.clear()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction, so queries made together see one snapshot."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield self._db
            finally:
                self._db.rollback()

    def _active_id(self, db: sqlite3.Connection, key: str, now: float) -> tuple[int, bool]:
        """The active session's id and whether this call created it (inside the caller's write
        transaction)."""
        row = db.execute(_ACTIVE_SQL, [key]).fetchone()
        if row:
            return int(row[0]), False
        cursor = db.execute(_NEW_SESSION_SQL, [key, _channel(key), now, now])
        return cast(int, cursor.lastrowid), True

    def _infos(self, where: str, params: list[Any]) -> list[SessionInfo]:
        with self._read() as db:
            rows = dicts(db.execute(_INFO_SQL.format(where=where), params))
        return [SessionInfo(**row) for row in rows]

    def append(
        self, key: str, message: Message, *, tokens: int | None = None, model: str | None = None
    ) -> None:
        """Persist one message to the key's active session, starting one if needed.

        `tokens` defaults to the estimate; `model` records which model wrote an assistant message.
        """
        now = self._clock()
        with self._lock:
            with self._write() as db:
                appended = self._add(db, key, now, [(message, tokens, model)])
            self.cache.appended(key, *appended)

    def append_round(
        self,
        key: str,
        call: Message,
        results: Sequence[Message],
        *,
        tokens: int | None = None,
        model: str | None = None,
    ) -> None:
        """Persist an assistant tool-call message and its results in one transaction, so the
        session never holds a call without its results (which every provider rejects), nor a
        second copy of it after a failed write. `tokens` and `model` are the call's."""
        now = self._clock()
        with self._lock:
            with self._write() as db:
                messages = [(call, tokens, model), *((result, None, None) for result in results)]
                appended = self._add(db, key, now, messages)
            self.cache.appended(key, *appended)

    def _add(
        self,
        db: sqlite3.Connection,
        key: str,
        now: float,
        messages: Sequence[tuple[Message, int | None, str | None]],
    ) -> tuple[int, bool, list[MessageRow]]:
        """Insert messages, each with its tokens and model, into the key's active session
        (started if needed, then touched) in the caller's transaction: the session's id,
        whether it was started, and the rows (for `HistoryCache.appended` after the commit)."""
        session_id, created = self._active_id(db, key, now)
        rows = [self._insert(db, session_id, *message) for message in messages]
        db.execute(_TOUCH_SQL, [now, session_id])
        return session_id, created, rows

    def _insert(
        self,
        db: sqlite3.Connection,
        session_id: int,
        message: Message,
        tokens: int | None,
        model: str | None,
    ) -> MessageRow:
        row = message_row(message)
        row["tokens"] = message_tokens(message) if tokens is None else tokens
        row["model"] = model
        row["session_id"] = session_id
        row["first"], row["last"] = schema.message_ids(session_id)
        cursor = db.execute(_INSERT_MESSAGE, row)
        return row_tuple(cast(int, cursor.lastrowid), row)

    def history(
        self, key: str, limit: int | None = None, *, tokens: int | None = None
    ) -> list[Message]:
        """The active session's messages, oldest first; only the newest `limit` if given.

        With `tokens`, only the newest messages that can fit in that many prompt tokens
        (`select_history` then chooses among them), so a turn reads a bounded number of rows
        however long the session: each message costs at least `4 + len(text) / 4` tokens
        (`message_tokens`), and the results at the cut keep the call they answer.

        The list is the caller's, the `Message` objects in it are shared with the history
        cache (`openclaw.store.history_cache`) and must not be mutated (a message without
        calls has the shared, unchangeable `rows.NO_CALLS` as its `tool_calls`).
        """
        if limit is not None and limit <= 0:
            return []
        if tokens is not None:
            limit = min(limit if limit is not None else tokens, tokens // 4 + 1)
        with self._lock:
            self.cache.check(self._db.execute(_DATA_VERSION_SQL).fetchone()[0])
            cached = self.cache.get(key, limit, tokens)
            if cached is not None:
                return cached
            with self._read() as db:
                found = db.execute(_ACTIVE_SQL, [key]).fetchone()
                if found is None:
                    return []
                session_id = found[0]
                lowest, highest = schema.message_ids(session_id)
                # tuples of four: a dict, or all nine columns, per row would double the cost
                newest_first = db.execute(
                    _HISTORY_SQL,
                    [lowest, highest, -1 if limit is None or tokens is not None else limit],
                )
                if tokens is None:
                    rows: list[HistoryRow] = newest_first.fetchall()
                    messages = [history_message(row) for row in rows]
                    costs = [text_cost(row[0]) for row in rows]
                    complete = limit is None or len(rows) < limit
                else:
                    messages, costs, complete = _within(newest_first, cast(int, limit), tokens)
                newest_first.close()  # the rows left unread: release the statement now
            messages.reverse()
            costs.reverse()
            self.cache.put(key, session_id, messages, costs, complete=complete)
            return list(messages)

    def session(self, key: str) -> SessionInfo | None:
        infos = self._infos(_BY_KEY, [key])
        return infos[0] if infos else None

    def session_model(self, key: str) -> str | None:
        """The active session's model override, without counting its messages (every turn
        asks this)."""
        with self._lock:
            row = self._db.execute(_MODEL_SQL, [key]).fetchone()
        return row[0] if row else None

    def list_sessions(self, channel: str | None = None) -> list[SessionInfo]:
        """Active sessions, most recently used first, optionally of one channel."""
        if channel is None:
            return self._infos("1", [])
        return self._infos("s.channel = ?", [channel])

    def find(self, partial: str) -> list[SessionInfo]:
        """Active sessions whose key contains `partial`, ignoring case."""
        return self._infos("instr(lower(s.key), ?) > 0", [partial.lower()])

    def reset(self, key: str) -> None:
        """Archive the active session (`/new`): its history is kept, the next append starts afresh.

        A model override belongs to the archived session, so the fresh one uses the default model.
        """
        with self._lock:
            with self._write() as db:
                db.execute("UPDATE sessions SET archived = 1 WHERE key = ? AND archived = 0", [key])
            self.cache.drop(key)

    def set_model(self, key: str, ref: str | None) -> None:
        """Override the model (`provider/model`) for the key's active session; None clears it."""
        now = self._clock()
        with self._write() as db:
            session_id, _ = self._active_id(db, key, now)
            db.execute(
                "UPDATE sessions SET model = ?, updated_at = ? WHERE id = ?", [ref, now, session_id]
            )

    def stats(self) -> StoreStats:
        """From the sessions' counters (see `session_counters`): the cost grows with the
        number of sessions, not of messages."""
        with self._read() as db:
            sessions, messages, tokens, oldest, newest = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(message_count), 0), COALESCE(SUM(tokens), 0), "
                "MIN(created_at), MAX(updated_at) FROM sessions"
            ).fetchone()
            by_channel = dict(
                db.execute(
                    "SELECT channel, COUNT(*) FROM sessions GROUP BY channel ORDER BY channel"
                ).fetchall()
            )
        files = (self.path, self.path.with_name(self.path.name + "-wal"))
        db_bytes = sum(file.stat().st_size for file in files if file.exists())
        return StoreStats(sessions, messages, tokens, db_bytes, oldest, newest, by_channel)

    def prune(
        self,
        older_than_days: float = 30,
        now: float | None = None,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Delete sessions (active or archived) idle for longer than `older_than_days`, with their
        messages; returns how many sessions. Batches of `PRUNE_BATCH` sessions, each its own
        transaction, so a large prune never holds the write lock long against the gateway
        (`progress(done, total)` is called after each). No VACUUM: freed pages are reused by
        later writes, and a VACUUM would lock the file for the gateway."""
        cutoff = (self._clock() if now is None else now) - older_than_days * 86400
        with self._read() as db:
            query = "SELECT id FROM sessions WHERE updated_at < ?"
            ids = [row[0] for row in db.execute(query, [cutoff])]
        removed = 0
        for start in range(0, len(ids), PRUNE_BATCH):
            batch = ids[start : start + PRUNE_BATCH]
            # still idle: a session written to since the SELECT above is kept
            idle = f"SELECT id FROM sessions WHERE id IN ({','.join('?' * len(batch))}) "
            idle += "AND updated_at < ?"
            with self._write() as db:
                db.execute(f"DELETE FROM messages WHERE session_id IN ({idle})", [*batch, cutoff])
                deleted = db.execute(f"DELETE FROM sessions WHERE id IN ({idle})", [*batch, cutoff])
                removed += int(deleted.rowcount)
                self.cache.clear()
            if progress is not None:
                progress(start + len(batch), len(ids))
        return removed

    # -- delivery records (see `openclaw.gateway.delivery`) ------------------------------------

    def record_inbound(
        self, channel: str, delivery_id: str, chat_id: str, message_id: str, payload: str = ""
    ) -> bool:
        """Store a message before the platform is told it arrived; False when it was stored
        before (a redelivery: the caller drops it). Finished records older than a day are
        deleted on the way, so the table stays small."""
        now = self._clock()
        with self._write() as db:
            db.execute(_FORGET_FINISHED_SQL, [now - 86400])
            cursor = db.execute(
                _RECORD_SQL, [channel, delivery_id, chat_id, message_id, payload, now, now]
            )
            return cursor.rowcount == 1

    def inbound(self, channel: str, delivery_id: str) -> Inbound | None:
        with self._read() as db:
            rows = dicts(
                db.execute(
                    f"SELECT {INBOUND_COLUMNS} FROM inbound WHERE channel = ? AND delivery_id = ?",
                    [channel, delivery_id],
                )
            )
        return Inbound(**rows[0]) if rows else None

    def start_inbound(
        self,
        channel: str,
        delivery_ids: list[str],
        session_key: str,
        base: int | None = None,
        *,
        message: Message | None = None,
    ) -> None:
        """Mark messages as answered by a turn that starts now, when the session holds `base`
        messages (what a resumed turn finds after that point is this turn's); by default as
        many as its active session holds, counted in the same transaction. `message`, the
        turn's user message, is appended in that transaction too: a restart finds the turn
        either not started or started with its message stored."""
        now = self._clock()
        row = {"key": session_key, "base": base, "turn": uuid.uuid4().hex, "now": now}
        appended = None
        with self._lock:
            with self._write() as db:
                for delivery_id in delivery_ids:
                    db.execute(_START_SQL, {**row, "channel": channel, "delivery": delivery_id})
                if message is not None:  # after the UPDATE: the base is the size before it
                    appended = self._add(db, session_key, now, [(message, None, None)])
            if appended is not None:
                self.cache.appended(session_key, *appended)

    def note_reply(self, channel: str, delivery_ids: list[str], reply_id: str) -> None:
        """Keep the id of the answer's first message: an answer sent again after a restart
        edits that message, so the user never sees it twice."""
        with self._write() as db:
            for delivery_id in delivery_ids:
                db.execute(_REPLY_SQL, [reply_id, channel, delivery_id])

    def finish_inbound(self, channel: str, delivery_ids: list[str]) -> None:
        """Messages answered (or refused on purpose): never handled again; the payload goes."""
        now = self._clock()
        with self._write() as db:
            for delivery_id in delivery_ids:
                db.execute(_FINISH_SQL, [now, channel, delivery_id])

    def claim_unanswered(self) -> list[Inbound]:
        """Every message not finished, oldest first, each counted as restarted once more (so
        a message that crashes the gateway every time is given up on)."""
        now = self._clock()
        with self._write() as db:
            db.execute(
                "UPDATE inbound SET restarts = restarts + 1, updated_at = ? "
                "WHERE state != 'finished'",
                [now],
            )
            rows = dicts(
                db.execute(
                    f"SELECT {INBOUND_COLUMNS} FROM inbound WHERE state != 'finished' ORDER BY id"
                )
            )
        return [Inbound(**row) for row in rows]

    def unanswered_count(self, channel: str | None = None) -> int:
        with self._read() as db:
            sql = "SELECT COUNT(*) FROM inbound WHERE state != 'finished'"
            if channel is None:
                return int(db.execute(sql).fetchone()[0])
            return int(db.execute(sql + " AND channel = ?", [channel]).fetchone()[0])
