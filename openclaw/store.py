"""The session store: every conversation, keyed `{channel}:{agent}:{user}:{chat}`, in SQLite.

`SessionStore` is the interface the rest of the kernel uses, so a PostgreSQL backend can replace
`SqliteStore` when a user outgrows one machine. The API is synchronous on purpose: each call is
sub-millisecond, so the async code calls it directly instead of paying for a thread hop.

The store runs on plain `sqlite3`. `sqlite_utils` (~280 ms and ~10 MB to import) is the schema
tool: it is imported only when a migration is due, which opening an up-to-date file finds out
with one plain query.
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self, cast, runtime_checkable

from openclaw.messages import (
    ContentPart,
    ImagePart,
    Message,
    TextPart,
    ToolCall,
    message_tokens,
    valid_message,
)
from openclaw.redaction import redact

if TYPE_CHECKING:
    from sqlite_utils import Database

__all__ = [
    "MIGRATIONS",
    "Inbound",
    "SessionInfo",
    "SessionStore",
    "SqliteStore",
    "StoreStats",
]

# `progress(done, total)`, called as long work advances (`openclaw.progress` draws it)
ProgressCallback = Callable[[int, int], None]
PRUNE_BATCH = 500


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """One active session as listed by `/status`, the `sessions` tool and the CLI."""

    key: str
    channel: str
    created_at: float
    updated_at: float
    message_count: int
    tokens: int
    model: str | None


@dataclass(frozen=True, slots=True)
class StoreStats:
    """What the database holds, archived sessions included (they are what `prune` frees)."""

    sessions: int
    messages: int
    tokens: int
    db_bytes: int
    oldest: float | None  # creation time of the oldest session
    newest: float | None  # last activity of the most recent session
    by_channel: dict[str, int]  # sessions per channel


@dataclass(frozen=True, slots=True)
class Inbound:
    """One platform message as the delivery record keeps it (see `openclaw.delivery`).

    `state` is `recorded` (received, no turn yet), `started` (its turn began when the session
    held `base` messages) or `finished` (answered, or refused on purpose). `payload` is what the
    channel needs to hand the message over again (e.g. Telegram's update JSON).
    """

    channel: str
    delivery_id: str
    chat_id: str
    message_id: str
    payload: str
    state: str
    restarts: int
    session_key: str | None
    base: int | None
    turn_id: str | None  # the same for the messages one (debounced) turn answers
    reply_id: str | None  # the platform id of the first message of its answer, once sent


@runtime_checkable
class SessionStore(Protocol):
    """What the kernel needs from a session store; `SqliteStore` is the default backend."""

    def append(
        self, key: str, message: Message, *, tokens: int | None = None, model: str | None = None
    ) -> None: ...

    def append_round(
        self,
        key: str,
        call: Message,
        results: Sequence[Message],
        *,
        tokens: int | None = None,
        model: str | None = None,
    ) -> None: ...

    def history(
        self, key: str, limit: int | None = None, *, tokens: int | None = None
    ) -> list[Message]: ...

    def session(self, key: str) -> SessionInfo | None: ...

    def session_model(self, key: str) -> str | None: ...

    def list_sessions(self, channel: str | None = None) -> list[SessionInfo]: ...

    def find(self, partial: str) -> list[SessionInfo]: ...

    def reset(self, key: str) -> None: ...

    def set_model(self, key: str, ref: str | None) -> None: ...

    def stats(self) -> StoreStats: ...

    def export_markdown(self, key: str, progress: ProgressCallback | None = None) -> str: ...

    def prune(
        self,
        older_than_days: float = 30,
        now: float | None = None,
        progress: ProgressCallback | None = None,
    ) -> int: ...

    def migrate_keys(self, progress: ProgressCallback | None = None) -> int: ...

    def record_inbound(
        self, channel: str, delivery_id: str, chat_id: str, message_id: str, payload: str = ""
    ) -> bool: ...

    def inbound(self, channel: str, delivery_id: str) -> Inbound | None: ...

    def start_inbound(
        self, channel: str, delivery_ids: list[str], session_key: str, base: int
    ) -> None: ...

    def note_reply(self, channel: str, delivery_ids: list[str], reply_id: str) -> None: ...

    def finish_inbound(self, channel: str, delivery_ids: list[str]) -> None: ...

    def claim_unanswered(self) -> list[Inbound]: ...

    def unanswered_count(self, channel: str | None = None) -> int: ...

    def close(self) -> None: ...


# --- schema migrations -------------------------------------------------------------------------
# Append only: a migration's position is its version, recorded in `schema_migrations` once applied.
# Plain DDL rather than sqlite-utils' table builder, so a migration creates the same schema forever,
# whatever sqlite-utils version is installed.


def initial_schema(db: Database) -> None:
    """Sessions, messages and the indexes of the hot queries (active session by key, history)."""
    db.execute(
        """CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL,
            channel TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            archived INTEGER NOT NULL DEFAULT 0,
            model TEXT
        )"""
    )
    # One active session per key; `/new` archives it so the next message starts a fresh one.
    db.execute("CREATE UNIQUE INDEX sessions_active_key ON sessions (key) WHERE archived = 0")
    db.execute("CREATE INDEX sessions_updated_at ON sessions (updated_at)")
    db.execute(
        """CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions (id),
            role TEXT NOT NULL,
            content TEXT NOT NULL,
            parts TEXT,
            tool_calls TEXT,
            tool_call_id TEXT,
            name TEXT,
            is_error INTEGER NOT NULL DEFAULT 0,
            tokens INTEGER NOT NULL DEFAULT 0,
            model TEXT,
            created_at REAL NOT NULL
        )"""
    )
    db.execute("CREATE INDEX messages_session_id ON messages (session_id, id)")


def inbound_table(db: Database) -> None:
    """Delivery records: each platform message by (channel, delivery id), so a message is
    confirmed to the platform only once it is stored, resumed after a crash, answered once."""
    db.execute(
        """CREATE TABLE inbound (
            id INTEGER PRIMARY KEY,
            channel TEXT NOT NULL,
            delivery_id TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            message_id TEXT NOT NULL,
            payload TEXT NOT NULL DEFAULT '',
            state TEXT NOT NULL DEFAULT 'recorded',
            restarts INTEGER NOT NULL DEFAULT 0,
            session_key TEXT,
            base INTEGER,
            turn_id TEXT,
            reply_id TEXT,
            received_at REAL NOT NULL,
            updated_at REAL NOT NULL
        )"""
    )
    db.execute("CREATE UNIQUE INDEX inbound_delivery ON inbound (channel, delivery_id)")
    db.execute("CREATE INDEX inbound_unanswered ON inbound (state) WHERE state != 'finished'")


def session_counters(db: Database) -> None:
    """Each session's message count and tokens, kept by triggers in the transaction of every
    insert, update and delete of a message, so `/db`, `/status` and the turn's start never
    count messages (a kill -9 mid-write loses the counts with the rows, never one without the
    other). Filled here from the messages an existing database holds."""
    db.execute("ALTER TABLE sessions ADD COLUMN message_count INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE sessions ADD COLUMN tokens INTEGER NOT NULL DEFAULT 0")
    db.execute(
        """UPDATE sessions SET (message_count, tokens) = (
            SELECT COUNT(*), COALESCE(SUM(m.tokens), 0) FROM messages m
            WHERE m.session_id = sessions.id
        )"""
    )
    add = "UPDATE sessions SET message_count = message_count + 1, tokens = tokens + NEW.tokens"
    remove = "UPDATE sessions SET message_count = message_count - 1, tokens = tokens - OLD.tokens"
    db.execute(
        f"""CREATE TRIGGER messages_counted AFTER INSERT ON messages BEGIN
            {add} WHERE id = NEW.session_id;
        END"""
    )
    db.execute(
        f"""CREATE TRIGGER messages_uncounted AFTER DELETE ON messages BEGIN
            {remove} WHERE id = OLD.session_id;
        END"""
    )
    db.execute(
        f"""CREATE TRIGGER messages_recounted AFTER UPDATE OF session_id, tokens ON messages BEGIN
            {remove} WHERE id = OLD.session_id;
            {add} WHERE id = NEW.session_id;
        END"""
    )


MIGRATIONS: list[Callable[[Database], None]] = [initial_schema, inbound_table, session_counters]


# --- message (de)serialisation -----------------------------------------------------------------


def _encode_parts(content: str | list[ContentPart]) -> str | None:
    """JSON of the parts, or None for plain text; any list is kept so `history` returns a list."""
    if isinstance(content, str):
        return None
    parts: list[dict[str, Any]] = []
    for part in content:
        if isinstance(part, TextPart):
            parts.append({"type": "text", "text": part.text})
        else:
            data = None if part.data is None else base64.b64encode(part.data).decode("ascii")
            parts.append(
                {"type": "image", "mime_type": part.mime_type, "data": data, "url": part.url}
            )
    return json.dumps(parts, ensure_ascii=False)


def _decode_parts(text: str) -> list[ContentPart]:
    parts: list[ContentPart] = []
    for part in json.loads(text):
        if part["type"] == "text":
            parts.append(TextPart(part["text"]))
        else:
            data = None if part["data"] is None else base64.b64decode(part["data"])
            parts.append(ImagePart(data=data, mime_type=part["mime_type"], url=part["url"]))
    return parts


def _message_row(message: Message) -> dict[str, Any]:
    message = valid_message(message)  # a lone surrogate cannot be stored (nor sent to a model)
    calls = [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in message.tool_calls]
    return {
        "role": message.role,
        "content": message.text,
        "parts": _encode_parts(message.content),
        "tool_calls": json.dumps(calls, ensure_ascii=False) if calls else None,
        "tool_call_id": message.tool_call_id,
        "name": message.name,
        "is_error": int(message.is_error),
        "created_at": message.created_at,
    }


# The columns `_row_message` reads, in its order: tuples, not dicts, on the turn's hot path.
_MESSAGE_COLUMNS = "id, role, content, parts, tool_calls, tool_call_id, name, is_error, created_at"
_MessageRow = tuple[int, str, str, str | None, str | None, str | None, str | None, int, float]


def _row_message(row: _MessageRow) -> Message:
    _, role, content, parts, tool_calls, tool_call_id, name, is_error, created_at = row
    calls = (
        [ToolCall(c["id"], c["name"], c["arguments"]) for c in json.loads(tool_calls)]
        if tool_calls
        else []
    )
    return Message(
        role=role,  # type: ignore[arg-type]
        content=_decode_parts(parts) if parts is not None else content,
        tool_calls=calls,
        tool_call_id=tool_call_id,
        name=name,
        is_error=bool(is_error),
        created_at=created_at,
    )


# --- markdown export ---------------------------------------------------------------------------

_ICONS = {"user": "👤", "assistant": "🤖", "tool": "🔧", "system": "⚙️"}


def _timestamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _fenced(text: str, lang: str = "") -> str:
    """A code block whose fence is longer than any backtick run inside, so output stays literal."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{text}\n{fence}"


def _pretty_arguments(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments), indent=2, ensure_ascii=False)
    except json.JSONDecodeError:
        return arguments


def _markdown_message(message: Message) -> str:
    title = f"{_ICONS[message.role]} {message.role}"
    if message.name:
        title += f" · `{message.name}`"
    if message.is_error:
        title += " · error"
    blocks = [f"### {title} · {_timestamp(message.created_at)}"]
    if message.role == "tool":
        blocks.append(_fenced(message.text))
    elif isinstance(message.content, str):
        if message.content:
            blocks.append(message.content)
    else:
        pieces = [
            part.text if isinstance(part, TextPart) else f"[image: {part.mime_type}]"
            for part in message.content
        ]
        blocks.append("\n".join(piece for piece in pieces if piece))
    for call in message.tool_calls:
        blocks.append(f"🔧 **{call.name}**\n{_fenced(_pretty_arguments(call.arguments), 'json')}")
    return "\n\n".join(blocks)


# --- the SQLite backend ------------------------------------------------------------------------

_INFO_SQL = """
SELECT s.key, s.channel, s.created_at, s.updated_at, s.model, s.message_count, s.tokens
FROM sessions s
WHERE s.archived = 0 AND ({where})
ORDER BY s.updated_at DESC, s.id DESC
"""


_HISTORY_SQL = (
    f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE session_id = ? ORDER BY id DESC LIMIT ?"
)
_OLDER_SQL = (
    f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE session_id = ? AND id < ? "
    "ORDER BY id DESC LIMIT 1"
)


def _within(rows_newest_first: Iterable[_MessageRow], tokens: int) -> list[_MessageRow]:
    """The newest rows whose newer rows cost at most `tokens` by the lower bound of
    `message_tokens`: a superset of what `select_history` keeps for that budget. Reads
    no further rows than that from the cursor."""
    kept: list[_MessageRow] = []
    used = 0
    for row in rows_newest_first:
        if used > tokens:
            break
        kept.append(row)
        used += 4 + (len(row[2]) + 3) // 4
    return kept


_INBOUND_COLUMNS = (
    "channel, delivery_id, chat_id, message_id, payload, state, restarts, session_key, base, "
    "turn_id, reply_id"
)


_INSERT_MESSAGE = """
INSERT INTO messages (session_id, role, content, parts, tool_calls, tool_call_id, name, is_error,
                      tokens, model, created_at)
VALUES (:session_id, :role, :content, :parts, :tool_calls, :tool_call_id, :name, :is_error,
        :tokens, :model, :created_at)
"""


def _dicts(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    """A query's rows as dicts keyed by column name (for the dataclasses built from them)."""
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


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
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._lock = threading.RLock()
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
            self._migrate()
        except BaseException:
            conn.close()  # a failed open (a migration bug, a locked file) leaks no connection
            raise

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

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction, so queries made together see one snapshot."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield self._db
            finally:
                self._db.rollback()

    def _migrate(self) -> None:
        """Apply pending `MIGRATIONS` in one transaction; a failing one leaves nothing behind.

        Whether any is due is read with plain `sqlite3`; only then is sqlite-utils imported
        (without numpy, `openclaw.lean_import`), for the migrations' `Database`."""
        with self._read() as conn:
            known = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
            ).fetchone()
            applied = (
                {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
                if known
                else set()
            )
        if applied >= set(range(1, len(MIGRATIONS) + 1)):
            return
        from openclaw.lean_import import import_sqlite_utils

        # Nothing reconfigures this connection (no sqlite-utils plugins, SQLite's own trigger
        # setting): it behaves the same whether this open migrated or not.
        db = import_sqlite_utils().Database(
            self._db, execute_plugins=False, recursive_triggers=False
        )
        with self._write():
            db.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                    version INTEGER PRIMARY KEY,
                    name TEXT NOT NULL,
                    applied_at REAL NOT NULL
                )"""
            )
            applied = {row[0] for row in db.execute("SELECT version FROM schema_migrations")}
            for version, migration in enumerate(MIGRATIONS, start=1):
                if version not in applied:
                    migration(db)
                    db.execute(
                        "INSERT INTO schema_migrations (version, name, applied_at) "
                        "VALUES (?, ?, ?)",
                        [version, migration.__name__, time.time()],
                    )

    def _active_id(self, db: sqlite3.Connection, key: str, now: float) -> int:
        """The active session's id, created if absent (inside the caller's write transaction)."""
        row = db.execute("SELECT id FROM sessions WHERE key = ? AND archived = 0", [key]).fetchone()
        if row:
            return int(row[0])
        cursor = db.execute(
            "INSERT INTO sessions (key, channel, created_at, updated_at) VALUES (?, ?, ?, ?)",
            [key, _channel(key), now, now],
        )
        return cast(int, cursor.lastrowid)

    def _infos(self, where: str, params: list[Any]) -> list[SessionInfo]:
        with self._read() as db:
            rows = _dicts(db.execute(_INFO_SQL.format(where=where), params))
        return [SessionInfo(**row) for row in rows]

    def append(
        self, key: str, message: Message, *, tokens: int | None = None, model: str | None = None
    ) -> None:
        """Persist one message to the key's active session, starting one if needed.

        `tokens` defaults to the estimate; `model` records which model wrote an assistant message.
        """
        now = self._clock()
        with self._write() as db:
            session_id = self._active_id(db, key, now)
            self._insert(db, session_id, message, tokens, model)
            db.execute("UPDATE sessions SET updated_at = ? WHERE id = ?", [now, session_id])

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
        with self._write() as db:
            session_id = self._active_id(db, key, now)
            self._insert(db, session_id, call, tokens, model)
            for result in results:
                self._insert(db, session_id, result, None, None)
            db.execute("UPDATE sessions SET updated_at = ? WHERE id = ?", [now, session_id])

    def _insert(
        self,
        db: sqlite3.Connection,
        session_id: int,
        message: Message,
        tokens: int | None,
        model: str | None,
    ) -> None:
        row = _message_row(message)
        row["tokens"] = message_tokens(message) if tokens is None else tokens
        row["model"] = model
        row["session_id"] = session_id
        db.execute(_INSERT_MESSAGE, row)

    def history(
        self, key: str, limit: int | None = None, *, tokens: int | None = None
    ) -> list[Message]:
        """The active session's messages, oldest first; only the newest `limit` if given.

        With `tokens`, only the newest messages that can fit in that many prompt tokens
        (`select_history` then chooses among them), so a turn reads a bounded number of rows
        however long the session: each message costs at least `4 + len(text) / 4` tokens
        (`message_tokens`), and the results at the cut keep the call they answer.
        """
        if limit is not None and limit <= 0:
            return []
        if tokens is not None:
            limit = min(limit if limit is not None else tokens, tokens // 4 + 1)
        with self._read() as db:
            row = db.execute(
                "SELECT id FROM sessions WHERE key = ? AND archived = 0", [key]
            ).fetchone()
            if row is None:
                return []
            session_id = row[0]
            # tuples: a dict per row would double the cost of a long history
            newest_first = db.execute(_HISTORY_SQL, [session_id, -1 if limit is None else limit])
            rows = newest_first.fetchall() if tokens is None else _within(newest_first, tokens)
            newest_first.close()  # the rows left unread: release the statement now
            if tokens is not None:
                # results at the cut: reach back to the call they answer
                while rows and rows[-1][1] == "tool":
                    older = db.execute(_OLDER_SQL, [session_id, rows[-1][0]]).fetchone()
                    if older is None:
                        break
                    rows.append(older)
        return [_row_message(row) for row in reversed(rows)]

    def session(self, key: str) -> SessionInfo | None:
        infos = self._infos("s.key = ?", [key])
        return infos[0] if infos else None

    def session_model(self, key: str) -> str | None:
        """The active session's model override, without counting its messages (every turn
        asks this)."""
        with self._lock:
            row = self._db.execute(
                "SELECT model FROM sessions WHERE key = ? AND archived = 0", [key]
            ).fetchone()
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
        with self._write() as db:
            db.execute("UPDATE sessions SET archived = 1 WHERE key = ? AND archived = 0", [key])

    def set_model(self, key: str, ref: str | None) -> None:
        """Override the model (`provider/model`) for the key's active session; None clears it."""
        now = self._clock()
        with self._write() as db:
            session_id = self._active_id(db, key, now)
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

    def export_markdown(self, key: str, progress: ProgressCallback | None = None) -> str:
        """The active session as a markdown transcript: the conversation only, no config or ids,
        secrets masked (`openclaw.redaction.redact`).

        Raises KeyError when the key has no active session, so a misspelt key is not mistaken
        for an empty conversation.
        """
        if self.session(key) is None:
            raise KeyError(f"no active session {key!r}")
        blocks = [f"# Conversation `{key}`"]
        messages = self.history(key)
        for done, message in enumerate(messages, start=1):
            blocks.append(_markdown_message(message))
            if progress is not None:
                progress(done, len(messages))
        return redact("\n\n".join(blocks)) + "\n"

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
            if progress is not None:
                progress(start + len(batch), len(ids))
        return removed

    def migrate_keys(self, progress: ProgressCallback | None = None) -> int:
        """Rewrite 3-part keys `prefix:agent:chat` to `prefix:agent:0:chat`; returns the count.

        When the 4-part key already has an active session, the old one is archived under the new
        key instead of merged: both histories stay intact and unmixed (a merge would interleave two
        conversations and could separate a tool call from its result), and the active conversation
        carries on untouched.
        """
        with self._write() as db:
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

    # -- delivery records (see `openclaw.delivery`) -------------------------------------------

    def record_inbound(
        self, channel: str, delivery_id: str, chat_id: str, message_id: str, payload: str = ""
    ) -> bool:
        """Store a message before the platform is told it arrived; False when it was stored
        before (a redelivery: the caller drops it). Finished records older than a day are
        deleted on the way, so the table stays small."""
        now = self._clock()
        with self._write() as db:
            db.execute(
                "DELETE FROM inbound WHERE state = 'finished' AND updated_at < ?", [now - 86400]
            )
            cursor = db.execute(
                """INSERT INTO inbound (channel, delivery_id, chat_id, message_id, payload,
                received_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (channel, delivery_id) DO NOTHING""",
                [channel, delivery_id, chat_id, message_id, payload, now, now],
            )
            return cursor.rowcount == 1

    def inbound(self, channel: str, delivery_id: str) -> Inbound | None:
        with self._read() as db:
            rows = _dicts(
                db.execute(
                    f"SELECT {_INBOUND_COLUMNS} FROM inbound WHERE channel = ? AND delivery_id = ?",
                    [channel, delivery_id],
                )
            )
        return Inbound(**rows[0]) if rows else None

    def start_inbound(
        self, channel: str, delivery_ids: list[str], session_key: str, base: int
    ) -> None:
        """Mark messages as answered by a turn that starts now, when the session holds `base`
        messages (what a resumed turn finds after that point is this turn's)."""
        now = self._clock()
        turn_id = uuid.uuid4().hex
        with self._write() as db:
            for delivery_id in delivery_ids:
                db.execute(
                    """UPDATE inbound SET state = 'started', session_key = ?, base = ?,
                    turn_id = ?, updated_at = ? WHERE channel = ? AND delivery_id = ?""",
                    [session_key, base, turn_id, now, channel, delivery_id],
                )

    def note_reply(self, channel: str, delivery_ids: list[str], reply_id: str) -> None:
        """Keep the id of the answer's first message: an answer sent again after a restart
        edits that message, so the user never sees it twice."""
        with self._write() as db:
            for delivery_id in delivery_ids:
                db.execute(
                    "UPDATE inbound SET reply_id = ? WHERE channel = ? AND delivery_id = ?",
                    [reply_id, channel, delivery_id],
                )

    def finish_inbound(self, channel: str, delivery_ids: list[str]) -> None:
        """Messages answered (or refused on purpose): never handled again; the payload goes."""
        now = self._clock()
        with self._write() as db:
            for delivery_id in delivery_ids:
                db.execute(
                    """UPDATE inbound SET state = 'finished', payload = '', updated_at = ?
                    WHERE channel = ? AND delivery_id = ?""",
                    [now, channel, delivery_id],
                )

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
            rows = _dicts(
                db.execute(
                    f"SELECT {_INBOUND_COLUMNS} FROM inbound WHERE state != 'finished' ORDER BY id"
                )
            )
        return [Inbound(**row) for row in rows]

    def unanswered_count(self, channel: str | None = None) -> int:
        with self._read() as db:
            sql = "SELECT COUNT(*) FROM inbound WHERE state != 'finished'"
            if channel is None:
                return int(db.execute(sql).fetchone()[0])
            return int(db.execute(sql + " AND channel = ?", [channel]).fetchone()[0])
