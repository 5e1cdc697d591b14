"""The SQLite schema as an append-only list of migrations, and applying the pending ones.

A migration's position is its version, recorded in `schema_migrations` once applied. Plain DDL
rather than sqlite-utils' table builder, so a migration creates the same schema forever, whatever
sqlite-utils version is installed. Whether any is due is read with plain `sqlite3`; sqlite-utils
(~280 ms and ~10 MB to import) is imported only then.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database


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


def _counting_triggers(db: Database) -> None:
    """The triggers that keep `sessions.message_count` and `tokens` (dropped with the table
    when `clustered_message_ids` rebuilds it, so created by both)."""
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
    _counting_triggers(db)


def inbound_finished_index(db: Database) -> None:
    """The finished delivery records by age: `record_inbound` deletes those older than a day
    on every message, which without this index scans the whole table."""
    db.execute("CREATE INDEX inbound_finished ON inbound (updated_at) WHERE state = 'finished'")


# A message's id is its session's id times `SESSION_SPAN` plus its place in the session (from
# 1), so a session's messages lie next to each other in the table (a rowid table is stored in
# id order) however many sessions talk at once: a history read is one range of the table, a few
# pages, rather than a page per message. A CHECK keeps every row in its session's range.
SESSION_SPAN = 1 << 32


def message_ids(session_id: int) -> tuple[int, int]:
    """The lowest and highest id a message of the session can have."""
    return session_id * SESSION_SPAN + 1, (session_id + 1) * SESSION_SPAN - 1


_MESSAGE_COLUMNS = """
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
    created_at REAL NOT NULL"""


def clustered_message_ids(db: Database) -> None:
    """Renumber the messages into their sessions' id ranges (`SESSION_SPAN`), in their order,
    and rebuild the table with the CHECK that keeps them there (its index and counting
    triggers with it; the counts do not change)."""
    names = "session_id, role, content, parts, tool_calls, tool_call_id, name, is_error, "
    names += "tokens, model, created_at"
    db.execute(
        f"""CREATE TABLE messages_clustered (
            id INTEGER PRIMARY KEY CHECK (id / {SESSION_SPAN} = session_id),{_MESSAGE_COLUMNS}
        )"""
    )
    db.execute(
        f"""INSERT INTO messages_clustered (id, {names})
        SELECT session_id * {SESSION_SPAN}
               + ROW_NUMBER() OVER (PARTITION BY session_id ORDER BY id), {names}
        FROM messages ORDER BY session_id, id"""
    )
    db.execute("DROP TABLE messages")  # with its index and triggers (no trigger fires)
    db.execute("ALTER TABLE messages_clustered RENAME TO messages")
    db.execute("CREATE INDEX messages_session_id ON messages (session_id, id)")
    _counting_triggers(db)


MIGRATIONS: list[Callable[[Database], None]] = [
    initial_schema,
    inbound_table,
    session_counters,
    inbound_finished_index,
    clustered_message_ids,
]


def pending(conn: sqlite3.Connection) -> bool:
    """Whether a migration is due, read with plain `sqlite3` (one query on an up-to-date file)."""
    conn.execute("BEGIN")
    try:
        known = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        ).fetchone()
        applied = (
            {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            if known
            else set()
        )
    finally:
        conn.rollback()
    return not applied >= set(range(1, len(MIGRATIONS) + 1))


def migrate(conn: sqlite3.Connection) -> None:
    """Apply pending `MIGRATIONS` in one transaction; a failing one leaves nothing behind.

    sqlite-utils is imported (without numpy, `openclaw.lean_import`) only when one is due."""
    if not pending(conn):
        return
    from openclaw.lean_import import import_sqlite_utils

    # Nothing reconfigures this connection (no sqlite-utils plugins, SQLite's own trigger
    # setting): it behaves the same whether this open migrated or not.
    db = import_sqlite_utils().Database(conn, execute_plugins=False, recursive_triggers=False)
    conn.execute("BEGIN IMMEDIATE")
    try:
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
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    [version, migration.__name__, time.time()],
                )
        conn.execute("COMMIT")
    except BaseException:
        conn.rollback()
        raise
