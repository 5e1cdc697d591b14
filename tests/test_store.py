"""The SQLite session store, on real files: round-trips, lifecycle, migrations, sharing, crashes."""

from __future__ import annotations

import dataclasses
import os
import re
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import openclaw
from openclaw.messages import ImagePart, Message, TextPart, ToolCall, ToolResult, message_tokens
from openclaw.store import SessionStore, SqliteStore, export_markdown, migrate_keys
from openclaw.store import schema as store_module
from openclaw.store.schema import message_ids

KEY = "tg:main:42:42"
DAY = 86400.0


class Clock:
    """A settable clock, so session timestamps (and pruning) are deterministic."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "home" / "sessions.db"


@pytest.fixture
def store(db_path: Path, clock: Clock) -> Iterator[SqliteStore]:
    with SqliteStore(db_path, clock=clock) as opened:
        yield opened


def rows(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Look at the file with plain sqlite3, independently of the store under test."""
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def conversation() -> list[Message]:
    """One message of every shape the agent persists."""
    return [
        Message("system", "You are helpful.", created_at=1000.0),
        Message("user", "Hi there", created_at=1001.5),
        Message(
            "user",
            [
                TextPart("What is in "),
                ImagePart(data=b"\x89PNG\x00\xffbytes", mime_type="image/png"),
                TextPart("and this?"),
                ImagePart(url="https://example.com/cat.jpg", mime_type="image/jpeg"),
            ],
            created_at=1002.25,
        ),
        Message("user", [TextPart("text-only parts stay a list")], created_at=1002.5),
        Message(
            "assistant",
            "Let me check.",
            tool_calls=[
                ToolCall("call_1", "get_weather", '{"city": "Paris"}'),
                ToolCall("call_2", "web_search", '{"query": "cats ```"}'),
            ],
            created_at=1003.0,
        ),
        Message.tool_result(ToolResult("call_1", "get_weather", "sunny, 21°C")),
        Message.tool_result(ToolResult("call_2", "web_search", "timeout", is_error=True)),
        Message("assistant", "", tool_calls=[ToolCall("call_3", "noop", "")], created_at=1004.0),
        Message("assistant", "It is sunny in Paris. ☀️", created_at=1005.0),
    ]


def test_opens_a_wal_database_with_shared_access_pragmas(store: SqliteStore, db_path: Path) -> None:
    assert db_path.exists()  # parent directories created
    assert isinstance(store, SessionStore)
    with store._lock:  # as the store reads: not during the checkpoint thread's prime commit
        pragmas = {
            name: store._db.execute(f"PRAGMA {name}").fetchone()[0]
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 1,
        "foreign_keys": 1,
        "busy_timeout": 5000,
    }


def test_round_trips_every_message_shape(store: SqliteStore) -> None:
    messages = conversation()
    for message in messages:
        store.append(KEY, message)

    assert store.history(KEY) == messages
    with SqliteStore(store.path) as reopened:  # read from the file, not the cache
        assert reopened.history(KEY) == messages
        reopened.cache.clear()
        assert reopened.history(KEY, tokens=100_000) == messages
    images = store.history(KEY)[2].images
    assert images[0].data == b"\x89PNG\x00\xffbytes" and images[0].url is None
    assert images[1].data is None and images[1].url == "https://example.com/cat.jpg"


def test_plain_text_column_and_token_defaults(store: SqliteStore, db_path: Path) -> None:
    image_message = conversation()[2]
    store.append(KEY, image_message)
    store.append(KEY, Message("assistant", "answer"), tokens=321, model="ollama/llama3.2:1b")

    stored = rows(db_path, "SELECT content, parts IS NOT NULL, tokens, model FROM messages")
    assert stored == [
        ("What is in and this?", 1, message_tokens(image_message), None),
        ("answer", 0, 321, "ollama/llama3.2:1b"),
    ]
    info = store.session(KEY)
    assert info is not None
    assert (info.message_count, info.tokens) == (2, message_tokens(image_message) + 321)


def test_history_limit_returns_the_newest_oldest_first(store: SqliteStore) -> None:
    for i in range(5):
        store.append(KEY, Message("user", f"m{i}"))

    assert [m.text for m in store.history(KEY, limit=2)] == ["m3", "m4"]
    assert [m.text for m in store.history(KEY, limit=50)] == [f"m{i}" for i in range(5)]
    assert store.history(KEY, limit=0) == []
    assert store.history("tg:main:1:1") == []


def test_reset_starts_fresh_and_keeps_the_archived_history(
    store: SqliteStore, db_path: Path, clock: Clock
) -> None:
    store.append(KEY, Message("user", "old"))
    store.set_model(KEY, "moonshot/kimi-k2.5")
    clock.now += 60
    store.reset(KEY)

    assert store.history(KEY) == []
    assert store.session(KEY) is None
    store.reset(KEY)  # nothing active: a no-op

    store.append(KEY, Message("user", "new"))
    assert [m.text for m in store.history(KEY)] == ["new"]
    info = store.session(KEY)
    assert info is not None and info.model is None and info.created_at == clock.now
    assert rows(db_path, "SELECT key, archived FROM sessions ORDER BY id") == [(KEY, 1), (KEY, 0)]
    assert store.stats().messages == 2


def test_set_model_creates_the_session_and_can_clear_it(store: SqliteStore) -> None:
    store.set_model(KEY, "anthropic/claude-opus-4-6")
    info = store.session(KEY)
    assert info is not None
    assert (info.model, info.message_count, info.channel) == ("anthropic/claude-opus-4-6", 0, "tg")

    store.set_model(KEY, None)
    assert store.session(KEY) == dataclasses.replace(info, model=None)


def test_list_find_and_stats(store: SqliteStore, clock: Clock, db_path: Path) -> None:
    start = clock.now
    store.append("tg:main:42:42", Message("user", "a" * 40), tokens=10)
    clock.now += 10
    store.append("cli:main:local:default", Message("user", "b"), tokens=5)
    clock.now += 10
    store.append("tg:main:7:-100123", Message("user", "c"), tokens=7)
    store.append("tg:main:7:-100123", Message("assistant", "d"), tokens=8)
    clock.now += 10
    store.append("discord:main:9:9", Message("user", "e"), tokens=1)
    store.reset("discord:main:9:9")  # archived: not listed, still counted by stats

    listed = store.list_sessions()
    assert [s.key for s in listed] == ["tg:main:7:-100123", "cli:main:local:default", KEY]
    assert (listed[0].message_count, listed[0].tokens, listed[0].channel) == (2, 15, "tg")
    assert [s.key for s in store.list_sessions("tg")] == ["tg:main:7:-100123", KEY]
    assert store.list_sessions("slack") == []

    assert [s.key for s in store.find("MAIN:7")] == ["tg:main:7:-100123"]
    assert [s.key for s in store.find("Local")] == ["cli:main:local:default"]
    assert [s.key for s in store.find("%")] == []  # no LIKE wildcards
    assert len(store.find("")) == 3

    stats = store.stats()
    assert (stats.sessions, stats.messages, stats.tokens) == (4, 5, 31)
    assert stats.by_channel == {"cli": 1, "discord": 1, "tg": 2}
    assert (stats.oldest, stats.newest) == (start, start + 30)
    wal = db_path.with_name("sessions.db-wal")
    assert stats.db_bytes == db_path.stat().st_size + wal.stat().st_size > 0


def test_stats_of_an_empty_store(store: SqliteStore) -> None:
    stats = store.stats()
    assert (stats.sessions, stats.messages, stats.tokens) == (0, 0, 0)
    assert (stats.oldest, stats.newest, stats.by_channel) == (None, None, {})


def test_export_markdown_is_the_conversation_only(store: SqliteStore) -> None:
    for message in conversation():
        store.append(KEY, message, model="moonshot/kimi-k2.5")
    store.set_model(KEY, "anthropic/claude-opus-4-6")

    text = export_markdown(store, KEY)

    assert text.startswith(f"# Conversation `{KEY}`")
    for icon in ("👤 user", "🤖 assistant", "🔧 tool", "⚙️ system"):
        assert icon in text
    assert "1970-01-01 00:16:41 UTC" in text  # the second message's timestamp
    assert "[image: image/png]" in text and "[image: image/jpeg]" in text
    assert "🔧 **get_weather**" in text and '"city": "Paris"' in text
    assert "`web_search` · error" in text
    assert "````json" in text  # a fence longer than the backticks inside the arguments
    assert "sunny, 21°C" in text and "It is sunny in Paris. ☀️" in text
    assert "kimi" not in text and "claude" not in text and "call_1" not in text
    assert "iVBOR" not in text  # the image bytes, base64-encoded
    with pytest.raises(KeyError):
        export_markdown(store, "tg:main:404:404")


def test_prune_deletes_idle_sessions_with_their_messages(
    store: SqliteStore, clock: Clock, db_path: Path
) -> None:
    now = clock.now
    clock.now = now - 40 * DAY
    store.append("tg:main:1:1", Message("user", "stale"))
    store.append("tg:main:2:2", Message("user", "stale, then archived"))
    store.reset("tg:main:2:2")
    clock.now = now - 20 * DAY
    store.append("tg:main:3:3", Message("user", "recent"))
    clock.now = now - 40 * DAY
    store.append("tg:main:4:4", Message("user", "old start"))
    clock.now = now - 1 * DAY
    store.append("tg:main:4:4", Message("user", "but active"))

    assert store.prune(30, now=now) == 2
    assert [s.key for s in store.list_sessions()] == ["tg:main:4:4", "tg:main:3:3"]
    assert [m.text for m in store.history("tg:main:4:4")] == ["old start", "but active"]
    assert rows(db_path, "SELECT COUNT(*) FROM messages") == [(3,)]
    assert rows(db_path, "PRAGMA foreign_key_check") == []
    assert store.prune(30, now=now) == 0
    assert store.prune(10, now=now) == 1


def test_migrate_keys_rewrites_three_part_keys_and_loses_nothing(
    store: SqliteStore, db_path: Path
) -> None:
    store.append("tg:main:42", Message("user", "old tg"))
    store.append("tg:main:42", Message("assistant", "old tg reply"))
    store.append("cli:main:default", Message("user", "archived old cli"))
    store.reset("cli:main:default")
    store.append("cli:main:default", Message("user", "active old cli"))
    store.append("cli:main:0:default", Message("user", "active new cli"))  # the clash
    store.append("cli:main:local:default", Message("user", "untouched four-part"))
    store.append("odd:key", Message("user", "untouched two-part"))
    before = rows(db_path, "SELECT id, session_id, content FROM messages ORDER BY id")

    assert migrate_keys(store) == 3

    assert [m.text for m in store.history("tg:main:0:42")] == ["old tg", "old tg reply"]
    assert [m.text for m in store.history("cli:main:0:default")] == ["active new cli"]
    assert [m.text for m in store.history("cli:main:local:default")] == ["untouched four-part"]
    assert [m.text for m in store.history("odd:key")] == ["untouched two-part"]
    assert store.history("tg:main:42") == []
    # The clashing old session is archived under the new key, its messages where they were.
    assert rows(
        db_path,
        "SELECT m.content FROM messages m JOIN sessions s ON s.id = m.session_id "
        "WHERE s.key = 'cli:main:0:default' AND s.archived = 1 ORDER BY m.id",
    ) == [("archived old cli",), ("active old cli",)]
    assert rows(db_path, "SELECT id, session_id, content FROM messages ORDER BY id") == before
    assert rows(db_path, "SELECT COUNT(*) FROM sessions WHERE key LIKE '%:%:%:%'") == [(5,)]
    assert migrate_keys(store) == 0


def test_schema_migrations_are_applied_once_across_reopens(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    SqliteStore(db_path).close()
    first = rows(db_path, "SELECT version, name, applied_at FROM schema_migrations")
    assert [(version, name) for version, name, _ in first] == [
        (1, "initial_schema"),
        (2, "inbound_table"),
        (3, "session_counters"),
        (4, "inbound_finished_index"),
        (5, "clustered_message_ids"),
    ]

    SqliteStore(db_path).close()
    assert rows(db_path, "SELECT version, name, applied_at FROM schema_migrations") == first

    calls: list[int] = []

    def add_notes(db: Any) -> None:
        calls.append(1)
        db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY)")

    monkeypatch.setattr(store_module, "MIGRATIONS", [*store_module.MIGRATIONS, add_notes])
    for _ in range(2):
        SqliteStore(db_path).close()
    assert calls == [1]
    versions = rows(db_path, "SELECT version, name FROM schema_migrations ORDER BY version")
    assert versions == [
        (1, "initial_schema"),
        (2, "inbound_table"),
        (3, "session_counters"),
        (4, "inbound_finished_index"),
        (5, "clustered_message_ids"),
        (6, "add_notes"),
    ]


def test_a_failing_migration_leaves_nothing_behind(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(db: Any) -> None:
        db.execute("CREATE TABLE half_done (id INTEGER)")
        raise RuntimeError("migration bug")

    monkeypatch.setattr(store_module, "MIGRATIONS", [*store_module.MIGRATIONS, broken])
    with pytest.raises(RuntimeError, match="migration bug"):
        SqliteStore(db_path)

    tables = {name for (name,) in rows(db_path, "SELECT name FROM sqlite_master")}
    assert "half_done" not in tables and "sessions" not in tables
    monkeypatch.undo()
    with SqliteStore(db_path) as reopened:
        reopened.append(KEY, Message("user", "works"))
        assert [m.text for m in reopened.history(KEY)] == ["works"]


def test_two_stores_on_one_file_see_each_others_writes(db_path: Path) -> None:
    with SqliteStore(db_path) as cli, SqliteStore(db_path) as gateway:
        gateway.append(KEY, Message("user", "from telegram"))
        assert [m.text for m in cli.history(KEY)] == ["from telegram"]

        cli.set_model(KEY, "ollama/llama3.2:1b")
        info = gateway.session(KEY)
        assert info is not None and info.model == "ollama/llama3.2:1b"

        cli.reset(KEY)
        gateway.append(KEY, Message("user", "after /new"))
        assert [m.text for m in cli.history(KEY)] == ["after /new"]
        assert cli.stats().messages == gateway.stats().messages == 2


def test_concurrent_writers_on_one_file_lose_nothing(db_path: Path) -> None:
    stores = [SqliteStore(db_path), SqliteStore(db_path)]

    def write(store: SqliteStore, name: str) -> None:
        for i in range(100):
            store.append(KEY, Message("user", f"{name}{i}"))

    threads = [
        threading.Thread(target=write, args=(s, n)) for s, n in zip(stores, "ab", strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    texts = [m.text for m in stores[0].history(KEY)]
    assert sorted(texts) == sorted([f"a{i}" for i in range(100)] + [f"b{i}" for i in range(100)])
    assert rows(db_path, "SELECT COUNT(*) FROM sessions") == [(1,)]
    for store in stores:
        store.close()


class FailAfter:
    """The store's connection, running `action` right after a statement inside a transaction."""

    def __init__(self, conn: sqlite3.Connection, sql_prefix: str, action: Callable[[], None]):
        self.conn, self.sql_prefix, self.action = conn, sql_prefix, action

    def execute(self, sql: str, parameters: Any = ()) -> sqlite3.Cursor:
        cursor = self.conn.execute(sql, parameters)
        if sql.startswith(self.sql_prefix):
            self.action()
        return cursor

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


def test_an_exception_mid_append_rolls_everything_back(
    store: SqliteStore, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.append(KEY, Message("user", "committed"))

    def boom() -> None:
        raise RuntimeError("crash after the message insert")

    monkeypatch.setattr(store, "_db", FailAfter(store._db, "UPDATE sessions", boom))
    with pytest.raises(RuntimeError):
        store.append("tg:main:7:7", Message("user", "lost"))
    with pytest.raises(RuntimeError):
        store.append(KEY, Message("user", "lost too"))
    monkeypatch.undo()

    assert not store._db.in_transaction
    assert rows(db_path, "SELECT content FROM messages") == [("committed",)]
    assert store.session("tg:main:7:7") is None
    store.append(KEY, Message("user", "still works"))
    assert [m.text for m in store.history(KEY)] == ["committed", "still works"]


def test_a_process_killed_mid_append_leaves_a_consistent_file(db_path: Path) -> None:
    script = textwrap.dedent(
        """
        import os, sys
        from openclaw.messages import ImagePart, Message
        from openclaw.store import SqliteStore

        store = SqliteStore(sys.argv[1])
        store.append("tg:main:42:42", Message("user", "committed"))
        conn = store._db

        class Exiting:
            def execute(self, sql, parameters=()):
                cursor = conn.execute(sql, parameters)
                if sql.startswith("UPDATE sessions"):
                    os._exit(17)  # no rollback, no close: like a kill -9
                return cursor

            def __getattr__(self, name):
                return getattr(conn, name)

        store._db = Exiting()
        big = Message("user", [ImagePart(data=os.urandom(2_000_000))])
        store.append("tg:main:7:7", big)
        """
    )
    repo = Path(openclaw.__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-c", script, str(db_path)],
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(repo)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 17, result.stderr

    assert rows(db_path, "PRAGMA integrity_check") == [("ok",)]
    assert rows(db_path, "SELECT key FROM sessions") == [(KEY,)]
    assert rows(db_path, "SELECT content FROM messages") == [("committed",)]
    with SqliteStore(db_path) as reopened:
        assert [m.text for m in reopened.history(KEY)] == ["committed"]
        reopened.append("tg:main:7:7", Message("user", "retried"))
        assert [m.text for m in reopened.history("tg:main:7:7")] == ["retried"]


# -- the per-turn reads -----------------------------------------------------------------------


def _long_session(store: SqliteStore, key: str, turns: int) -> None:
    for n in range(turns):
        store.append(key, Message(role="user", content=f"question {n} " + "x" * (n % 50)))
        call = ToolCall(f"c{n}", "lookup", '{"q": 1}')
        store.append_round(
            key,
            Message(role="assistant", content="", tool_calls=[call]),
            [Message.tool_result(ToolResult(f"c{n}", "lookup", "r" * (n % 300)))],
        )
        store.append(key, Message(role="assistant", content=f"answer {n}"), tokens=3)


@pytest.mark.parametrize("budget", [256, 1000, 5000, 100_000])
def test_history_within_a_token_budget_chooses_what_the_whole_history_would(
    store: SqliteStore, budget: int
) -> None:
    from openclaw.agent.context import select_history

    key = "tg:main:1:1"
    _long_session(store, key, 300)
    recent = store.history(key, tokens=budget)
    assert select_history(recent, budget) == select_history(store.history(key), budget)
    if budget < 5000:
        assert len(recent) < len(store.history(key)) // 2  # only the rows that can fit are read


def test_history_within_a_budget_keeps_the_call_of_a_result_bigger_than_the_budget(
    store: SqliteStore,
) -> None:
    from openclaw.agent.context import select_history

    key = "tg:main:1:1"
    _long_session(store, key, 20)
    calls = [ToolCall("big1", "read", "{}"), ToolCall("big2", "read", "{}")]
    results = [Message.tool_result(ToolResult(c.id, c.name, "y" * 8000)) for c in calls]
    store.append_round(key, Message(role="assistant", content="", tool_calls=calls), results)
    recent = store.history(key, tokens=256)
    assert recent[0].tool_calls == calls  # the newest unit, whole, as select_history keeps it
    assert select_history(recent, 256) == select_history(store.history(key), 256)
    assert store.history("tg:main:9:9", tokens=256) == []


def test_session_model_reads_the_override_of_the_active_session(store: SqliteStore) -> None:
    key = "tg:main:1:1"
    assert store.session_model(key) is None
    store.append(key, Message(role="user", content="hi"))
    assert store.session_model(key) is None
    store.set_model(key, "srv/other")
    assert store.session_model(key) == "srv/other"
    store.reset(key)
    assert store.session_model(key) is None


def test_inbound_records_are_kept_once_claimed_with_a_restart_count_and_finished(
    db_path: Path,
) -> None:
    with SqliteStore(db_path) as store:
        assert store.record_inbound("telegram", "42/7", "42", "7", '{"update_id": 1}')
        assert not store.record_inbound("telegram", "42/7", "42", "7", "{}")  # a redelivery
        assert store.record_inbound("discord", "42/7", "42", "7")  # another channel's id
        store.start_inbound("telegram", ["42/7"], "tg:main:42:42", 3)
    with SqliteStore(db_path) as store:  # after a restart
        [first, second] = store.claim_unanswered()
        assert (first.channel, first.state, first.base, first.restarts) == (
            "telegram",
            "started",
            3,
            1,
        )
        assert first.payload == '{"update_id": 1}' and second.state == "recorded"
        store.finish_inbound("telegram", ["42/7"])
        assert store.unanswered_count() == 1 and store.unanswered_count("telegram") == 0
        record = store.inbound("telegram", "42/7")
        assert record is not None and record.state == "finished" and record.payload == ""
        assert [r.channel for r in store.claim_unanswered()] == ["discord"]


def test_a_turn_starts_at_its_sessions_size_unless_told(store: SqliteStore) -> None:
    """Without a `base`, the start records how many messages the active session holds, read in
    the transaction that marks the delivery started (no session yet: 0)."""
    key = "tg:main:42:42"
    for delivery in ["42/1", "42/2", "42/3"]:
        store.record_inbound("telegram", delivery, "42", delivery)
    store.start_inbound("telegram", ["42/1"], key)
    for n in range(3):
        store.append(key, Message("user", f"m{n}"))
    store.start_inbound("telegram", ["42/2"], key)
    store.start_inbound("telegram", ["42/3"], key, 1)
    store.reset(key)
    store.append(key, Message("user", "fresh"))
    store.record_inbound("telegram", "42/4", "42", "4")
    store.start_inbound("telegram", ["42/4"], key)  # the archived session's messages: not counted
    bases = [store.inbound("telegram", f"42/{n}") for n in range(1, 5)]
    assert [record.base if record else None for record in bases] == [0, 3, 1, 1]


def test_a_turn_starts_with_its_user_message_stored_in_the_same_write(
    store: SqliteStore, db_path: Path
) -> None:
    """`start_inbound(message=)`: the delivery is started at the session's size before the
    message, and the message is stored, or neither (a write that fails half-way, here by a
    trigger another connection added, leaves the delivery recorded and the session as it was:
    a restart then answers the message from its payload)."""
    key = "tg:main:42:42"
    store.append(key, Message("user", "before"))
    store.record_inbound("telegram", "42/1", "42", "1")
    store.start_inbound("telegram", ["42/1"], key, message=Message("user", "the question"))
    started = store.inbound("telegram", "42/1")
    assert started is not None and (started.state, started.base) == ("started", 1)
    assert [m.text for m in store.history(key)] == ["before", "the question"]

    store.record_inbound("telegram", "42/2", "42", "2")
    with sqlite3.connect(db_path) as other:
        other.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON messages BEGIN "
            "SELECT RAISE(ABORT, 'the disk is full'); END"
        )
    with pytest.raises(sqlite3.IntegrityError, match="the disk is full"):
        store.start_inbound("telegram", ["42/2"], key, message=Message("user", "lost?"))
    received = store.inbound("telegram", "42/2")
    assert received is not None and (received.state, received.base) == ("recorded", None)
    assert [m.text for m in store.history(key)] == ["before", "the question"]


def test_a_turns_start_stores_a_user_message_that_is_not_valid_unicode(store: SqliteStore) -> None:
    """A user's text with a lone surrogate (a JSON `\\ud800` from a platform) goes through the
    start's write as through `append`: stored valid, with the note, the delivery started."""
    key = "tg:main:42:42"
    store.record_inbound("telegram", "42/1", "42", "1")
    store.start_inbound("telegram", ["42/1"], key, message=Message("user", "bad \ud800 text"))
    record = store.inbound("telegram", "42/1")
    assert record is not None and (record.state, record.base) == ("started", 0)
    (stored,) = store.history(key)
    assert stored.text.startswith("bad \ufffd text") and "not valid UTF-8" in stored.text
    stored.text.encode()  # storable and sendable: no lone surrogate left


# --- maintained counters -----------------------------------------------------------------------

COUNTED = """
SELECT s.id, s.message_count, s.tokens, COUNT(m.id), COALESCE(SUM(m.tokens), 0)
FROM sessions s LEFT JOIN messages m ON m.session_id = s.id GROUP BY s.id ORDER BY s.id
"""


def assert_counters_exact(db_path: Path) -> None:
    """Every session's counters equal the aggregate of its messages, and `stats()` the totals."""
    counted = rows(db_path, COUNTED)
    assert [(sid, n, t) for sid, n, t, _, _ in counted] == [(r[0], r[3], r[4]) for r in counted]
    [(messages, tokens)] = rows(db_path, "SELECT COUNT(*), COALESCE(SUM(tokens), 0) FROM messages")
    with SqliteStore(db_path) as opened:
        stats = opened.stats()
    assert (stats.messages, stats.tokens, stats.sessions) == (
        messages,
        tokens,
        len(counted),
    )


def test_counters_stay_exact_through_appends_rounds_resets_prune_and_deletes(
    store: SqliteStore, db_path: Path, clock: Clock
) -> None:
    now = clock.now
    clock.now = now - 40 * DAY
    store.append("tg:main:1:1", Message("user", "old"), tokens=7)
    clock.now = now
    store.append(KEY, Message("user", "hello there"))
    call = Message("assistant", "", tool_calls=[ToolCall("c1", "read_file", "{}")])
    store.append_round(
        KEY, call, [Message("tool", "x" * 400, tool_call_id="c1", name="read_file")], tokens=11
    )
    store.reset(KEY)
    store.append(KEY, Message("assistant", "fresh session"), tokens=3)
    info = store.session(KEY)
    assert info is not None and (info.message_count, info.tokens) == (1, 3)
    assert_counters_exact(db_path)
    before = store.stats()
    assert before.messages == 5

    assert store.prune(older_than_days=30) == 1
    assert store.stats().messages == 4
    assert_counters_exact(db_path)

    # a row deleted or moved by hand (a repair in the sqlite3 shell) is counted too
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute("DELETE FROM messages WHERE id = (SELECT MIN(id) FROM messages)")
        conn.execute(
            "UPDATE messages SET tokens = tokens + 100 WHERE id = (SELECT MAX(id) FROM messages)"
        )
    conn.close()
    assert_counters_exact(db_path)
    assert (
        store.stats().tokens
        == before.tokens - 7 - message_tokens(Message("user", "hello there")) + 100
    )


def _file_at_migration(db_path: Path, version: int) -> Any:
    """A sqlite-utils database with the first `version` migrations applied, as an older
    openclaw left it."""
    import sqlite_utils

    db_path.parent.mkdir(parents=True)
    db = sqlite_utils.Database(db_path)
    db.execute(
        "CREATE TABLE schema_migrations "
        "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
    )
    for number, migration in enumerate(store_module.MIGRATIONS[:version], start=1):
        migration(db)
        db.execute("INSERT INTO schema_migrations VALUES (?, ?, 0)", [number, migration.__name__])
    return db


def test_the_counter_migration_fills_counts_of_an_existing_database(db_path: Path) -> None:
    db = _file_at_migration(db_path, 2)
    db.execute(
        "INSERT INTO sessions (key, channel, created_at, updated_at) VALUES ('a:m:1:1', 'a', 1, 1)"
    )
    db.execute(
        "INSERT INTO sessions (key, channel, created_at, updated_at) VALUES ('a:m:2:2', 'a', 1, 1)"
    )
    for n in range(5):
        db.execute(
            "INSERT INTO messages (session_id, role, content, tokens, created_at) "
            "VALUES (1, 'user', 'hi', ?, 1)",
            [n + 1],
        )
    db.conn.commit()
    db.close()

    with SqliteStore(db_path) as opened:
        info = opened.session("a:m:1:1")
        assert info is not None and (info.message_count, info.tokens) == (5, 15)
        empty = opened.session("a:m:2:2")
        assert empty is not None and (empty.message_count, empty.tokens) == (0, 0)
        assert (opened.stats().messages, opened.stats().tokens) == (5, 15)
    assert_counters_exact(db_path)


def test_counters_stay_exact_after_a_kill_9_mid_appends(db_path: Path) -> None:
    """A real process appending, reading, archiving and pruning (deleting) as fast as it can,
    killed with SIGKILL at an arbitrary point: the file is intact and every counter (and
    `stats()`) equals a COUNT(*) of the rows."""
    script = textwrap.dedent(
        """
        import sys
        from openclaw.messages import Message, ToolCall
        from openclaw.store import SqliteStore

        import itertools
        tick = itertools.count(1_700_000_000)
        store = SqliteStore(sys.argv[1], clock=lambda: float(next(tick)))
        print("ready", flush=True)
        for n in range(200_000):
            key = f"tg:main:{n % 7}:{n % 7}"
            store.append(key, Message("user", "x" * (n % 50)))
            call = Message("assistant", "", tool_calls=[ToolCall(f"c{n}", "t", "{}")])
            result = Message("tool", "r", tool_call_id=f"c{n}", name="t")
            store.append_round(key, call, [result], tokens=n % 13)
            store.history(key, tokens=2000)
            if n % 50 == 49:
                store.reset(key)  # archived: idle from now on, so pruned below
            if n % 100 == 99:
                store.prune(older_than_days=300 / 86400)  # deletes messages and sessions
        """
    )
    repo = Path(openclaw.__file__).resolve().parents[1]
    for delay in (0.3, 0.45, 0.6):
        process = subprocess.Popen(
            [sys.executable, "-c", script, str(db_path)],
            cwd=repo,
            env={**os.environ, "PYTHONPATH": str(repo)},
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stdout is not None and process.stdout.readline() == "ready\n"
            threading.Event().wait(delay)
        finally:
            process.kill()  # SIGKILL: no rollback, no close
            process.wait(timeout=30)
        assert process.returncode == -9
        assert rows(db_path, "PRAGMA integrity_check") == [("ok",)]
        assert rows(db_path, "SELECT COUNT(*) FROM messages")[0][0] > 0
        assert_counters_exact(db_path)


# --- the schema check at open ------------------------------------------------------------------

OPEN_TWICE = """
import json, sys
from openclaw.messages import Message
from openclaw.store import SqliteStore

SqliteStore(sys.argv[1]).close()  # a new file: the migrations are due
first = "sqlite_utils" in sys.modules
for name in [name for name in sys.modules if name.split(".")[0] == "sqlite_utils"]:
    del sys.modules[name]
store = SqliteStore(sys.argv[1])  # up to date: checked with plain sqlite3
store.append("tg:main:1:1", Message("user", "hi"))
store.history("tg:main:1:1", tokens=1000)
store.stats()
print(json.dumps({"migrating": first, "up_to_date": "sqlite_utils" in sys.modules}))
"""


def test_opening_an_up_to_date_store_does_not_import_sqlite_utils(db_path: Path) -> None:
    repo = Path(openclaw.__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-c", OPEN_TWICE, str(db_path)],
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(repo)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == '{"migrating": true, "up_to_date": false}'


# --- what a turn reads, whatever the session's length -----------------------------------------


class Traced:
    """The statements a store's connection runs and the SQLite VM steps they take (each row
    read costs steps), from `set_trace_callback` and `set_progress_handler` on the real file."""

    def __init__(self, store: SqliteStore) -> None:
        self.statements: list[str] = []
        self.steps = 0
        conn = store._db
        conn.set_trace_callback(self.statements.append)
        conn.set_progress_handler(self._step, 10)

    def _step(self) -> int:
        self.steps += 10
        return 0

    def shapes(self) -> list[str]:
        """The statements, their values (expanded by the trace) made `?`."""
        return [re.sub(r"'[^']*'|\b\d+(\.\d+)?\b", "?", s) for s in self.statements]

    def reads(self) -> list[str]:
        return [s for s in self.shapes() if s.lstrip().upper().startswith(("SELECT", "WITH"))]


def _turn_reads(db_path: Path, key: str) -> Traced:
    """A session's first turn after a start, in the gateway's order, traced (a fresh store:
    nothing cached)."""
    with SqliteStore(db_path) as store:
        deadline = time.monotonic() + 10  # the start's work in the checkpoint thread: not traced
        while not store.checkpointer.primed and time.monotonic() < deadline:
            time.sleep(0.005)
        traced = Traced(store)
        store.record_inbound("telegram", f"{key}/1", "1", "1")
        store.start_inbound("telegram", [f"{key}/1"], key)
        store.session_model(key)
        store.append(key, Message("user", "the new question"))
        first = store.history(key, tokens=1000)
        call = Message("assistant", "", tool_calls=[ToolCall("c", "read_file", "{}")])
        store.append_round(key, call, [Message("tool", "x" * 40, tool_call_id="c")])
        second = store.history(key, tokens=1000)
        store.append(key, Message("assistant", "the answer"))
        store.finish_inbound("telegram", [f"{key}/1"])
        store._db.set_progress_handler(None, 0)
        store._db.set_trace_callback(None)
    assert first[-1].text == "the new question"
    assert [m.role for m in second[-3:]] == ["user", "assistant", "tool"]
    return traced


def _fill(db_path: Path, key: str, messages: int) -> None:
    with SqliteStore(db_path) as store, store.transaction() as db:
        session_id, _ = store._active_id(db, key, 1.0)
        first, _ = message_ids(session_id)
        db.executemany(
            "INSERT INTO messages (id, session_id, role, content, tokens, created_at) "
            "VALUES (?, ?, ?, ?, 20, ?)",
            [
                (first + n, session_id, "user" if n % 2 else "assistant", "a chat line " * 6, n)
                for n in range(messages)
            ],
        )


def test_a_turns_reads_do_not_grow_with_the_session(db_path: Path) -> None:
    """The same statements, and about the same rows, for a 100- and a 5,000-message session:
    the model by key, the history within the budget in a bounded read, no count of messages.
    """
    _fill(db_path, "tg:main:1:1", 100)
    _fill(db_path, "tg:main:2:2", 5000)
    short = _turn_reads(db_path, "tg:main:1:1")
    long = _turn_reads(db_path, "tg:main:2:2")
    assert long.reads() == short.reads()
    history_reads = [s for s in long.reads() if "FROM messages" in s and "ORDER BY id DESC" in s]
    assert len(history_reads) == 1  # the second round is served from the cache
    # the turn's six reads: its model, the active session's id for each of the three appends,
    # and the cold history read: the active session's id, then the rows, three values each (a
    # plain message's role as 0 or 1, the rare columns packed into one by SQLite); the size the
    # turn starts at is read by the UPDATE that marks its delivery started
    assert len(long.reads()) == 6
    assert history_reads[0].startswith("SELECT content, created_at, CASE")
    assert not [s for s in long.reads() if "COUNT(" in s.upper() or "SUM(" in s.upper()]
    assert long.shapes() == short.shapes()
    # 1000 tokens of 23-token lines: ~44 rows (+ one chunk read past the cut) either way
    assert long.steps < short.steps * 1.5 + 2000


def _old_file_with_interleaved_sessions(db_path: Path) -> None:
    """A file at migration 4 (ids in the order rows came), two sessions written in turns."""
    db = _file_at_migration(db_path, 4)
    for key in ("a:m:1:1", "a:m:2:2"):
        db.execute(
            "INSERT INTO sessions (key, channel, created_at, updated_at) VALUES (?, 'a', 1, 1)",
            [key],
        )
    for n in range(6):
        db.execute(
            "INSERT INTO messages (session_id, role, content, tokens, created_at) "
            "VALUES (?, 'user', ?, 3, ?)",
            [n % 2 + 1, f"line {n}", n],
        )
    db.conn.commit()
    db.close()


def test_the_id_migration_puts_each_sessions_messages_in_its_range_in_order(
    db_path: Path,
) -> None:
    _old_file_with_interleaved_sessions(db_path)
    with SqliteStore(db_path) as store:
        assert [m.text for m in store.history("a:m:1:1")] == ["line 0", "line 2", "line 4"]
        assert [m.text for m in store.history("a:m:2:2")] == ["line 1", "line 3", "line 5"]
        store.append("a:m:1:1", Message("user", "line 6"))
        assert [m.text for m in store.history("a:m:1:1", 2)] == ["line 4", "line 6"]
    first, _ = message_ids(1)
    assert rows(db_path, "SELECT id, content FROM messages WHERE session_id = 1 ORDER BY id") == [
        (first + n, f"line {2 * n}") for n in range(4)
    ]
    # in id order, each session's rows are one run: the table stores them together
    in_order = [row[0] for row in rows(db_path, "SELECT session_id FROM messages ORDER BY id")]
    assert in_order == [1, 1, 1, 1, 2, 2, 2]
    assert_counters_exact(db_path)  # the counting triggers came back with the table


def test_sessions_written_in_turns_keep_their_messages_together(db_path: Path) -> None:
    with SqliteStore(db_path) as store:
        for n in range(20):
            for user in (1, 2, 3):
                store.append(f"tg:main:{user}:{user}", Message("user", f"{user}/{n}"))
        assert [m.text for m in store.history("tg:main:2:2", 2)] == ["2/18", "2/19"]
    in_order = [row[0] for row in rows(db_path, "SELECT session_id FROM messages ORDER BY id")]
    assert in_order == sorted(in_order)


def test_a_message_outside_its_sessions_id_range_is_refused(db_path: Path) -> None:
    SqliteStore(db_path).close()
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "INSERT INTO sessions (key, channel, created_at, updated_at) "
            "VALUES ('a:m:1:1', 'a', 1, 1)"
        )
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            conn.execute(  # the id SQLite would pick by itself: not in session 1's range
                "INSERT INTO messages (session_id, role, content, created_at) "
                "VALUES (1, 'user', 'x', 1)"
            )


class _CountedRows:
    """A real cursor, counting the rows it hands out."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self.cursor = cursor
        self.rows = 0

    def fetchmany(self, size: int) -> list[Any]:
        chunk = self.cursor.fetchmany(size)
        self.rows += len(chunk)
        return chunk


@pytest.mark.parametrize("tokens", [1500, 2000, 5000])
def test_a_read_within_a_budget_reads_a_row_past_its_cut(db_path: Path, tokens: int) -> None:
    """Rows of one length, a cut past the first chunk (whose rows show what a row costs): the
    read fetches what the budget holds, the row that crosses it and one more to see the cut
    by, not the rest of a chunk."""
    from openclaw.store.sqlite import _HISTORY_SQL, _within

    _fill(db_path, "tg:main:1:1", 500)  # 72-character lines: 22 tokens each by the lower bound
    first, last = message_ids(1)
    with sqlite3.connect(db_path) as conn:
        counted = _CountedRows(conn.execute(_HISTORY_SQL, [first, last, -1]))
        messages, costs, complete = _within(counted, tokens // 4 + 1, tokens)  # type: ignore[arg-type]
    assert set(costs) == {22} and not complete
    assert len(messages) == tokens // 22 + 1  # the one that crosses the budget is kept
    assert counted.rows == len(messages) + 1
