"""The store's history cache, its background WAL checkpoints, and the functions split off the
`SessionStore` protocol (markdown export, the 3-part key migration)."""

from __future__ import annotations

import gc
import random
import sqlite3
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from openclaw.messages import Message, ToolCall
from openclaw.store import SessionStore, SqliteStore, export_markdown, migrate_keys
from openclaw.store.history_cache import CachedHistory, HistoryCache
from openclaw.store.rows import message_row, row_tuple, text_cost

KEY = "tg:main:42:42"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "sessions.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(db_path) as opened:
        yield opened


def test_a_second_read_is_served_from_the_cache(store: SqliteStore) -> None:
    for n in range(20):
        store.append(KEY, Message("user", f"m{n}"))
    store.cache.clear()
    first = store.history(KEY, tokens=1000)
    misses = store.cache.misses
    second = store.history(KEY, tokens=1000)
    assert second == first and store.cache.misses == misses and store.cache.hits >= 1
    assert second[0] is first[0]  # the same objects: shared, never mutated
    second.append(Message("user", "the caller's list only"))
    assert store.history(KEY, tokens=1000) == first


def test_own_writes_extend_or_drop_the_cached_history(store: SqliteStore) -> None:
    store.append(KEY, Message("user", "hi"))
    assert [m.text for m in store.history(KEY)] == ["hi"]
    call = Message("assistant", "", tool_calls=[ToolCall("c1", "t", "{}")])
    store.append_round(KEY, call, [Message("tool", "r", tool_call_id="c1", name="t")])
    misses = store.cache.misses
    assert [m.role for m in store.history(KEY)] == ["user", "assistant", "tool"]
    assert store.cache.misses == misses  # extended by the append, not read again
    store.reset(KEY)
    assert store.history(KEY) == []
    store.append(KEY, Message("user", "fresh"))
    assert [m.text for m in store.history(KEY)] == ["fresh"]


def test_another_connections_write_drops_the_cache(store: SqliteStore, db_path: Path) -> None:
    store.append(KEY, Message("user", "mine"))
    assert [m.text for m in store.history(KEY)] == ["mine"]
    with SqliteStore(db_path) as other:
        other.append(KEY, Message("user", "theirs"))
    assert [m.text for m in store.history(KEY)] == ["mine", "theirs"]
    conn = sqlite3.connect(db_path)
    with conn:  # a hand edit in the sqlite3 shell
        conn.execute("UPDATE messages SET content = 'edited' WHERE content = 'mine'")
    conn.close()
    assert [m.text for m in store.history(KEY)] == ["edited", "theirs"]


def test_the_cache_answers_what_the_file_would(store: SqliteStore, db_path: Path) -> None:
    for n in range(60):
        store.append(KEY, Message("user", "q" * (n % 40)))
        call = Message("assistant", "", tool_calls=[ToolCall(f"c{n}", "t", "{}")])
        store.append_round(KEY, call, [Message("tool", "r" * (n * 7 % 300), tool_call_id=f"c{n}")])
    pairs = [(None, 50), (None, 500), (5, None), (None, None), (7, 200), (180, None)]
    pairs += [(None, None), (181, None), (3, None), (None, 10**6), (180, 10**6), (None, 3)]
    with SqliteStore(db_path, cache_sessions=0) as uncached:  # 180 messages: each limit's edge
        for limit, tokens in pairs:
            store.history(KEY, limit, tokens=tokens)
            assert store.history(KEY, limit, tokens=tokens) == uncached.history(
                KEY, limit, tokens=tokens
            )


def _walked(
    messages: list[Message], complete: bool, limit: int | None, tokens: int | None
) -> list[Message] | None:
    """`CachedHistory.select` by its definition, one message at a time, newest first."""
    start, count, used = len(messages), 0, 0
    while start > 0:
        if (limit is not None and count >= limit) or (tokens is not None and used > tokens):
            break
        start, count, used = start - 1, count + 1, used + text_cost(messages[start - 1].text)
    else:
        wanted_more = (limit is None or count < limit) and (tokens is None or used <= tokens)
        if wanted_more and not complete:
            return None
    if tokens is not None:
        while count and messages[start].role == "tool":
            if start == 0:
                return messages if complete else None
            start -= 1
    return messages[start:]


def test_a_cached_read_within_a_budget_takes_what_the_walk_over_each_message_would() -> None:
    draw = random.Random(18)
    for _ in range(3000):
        messages = [
            Message(draw.choice(["user", "assistant", "tool", "tool"]), "x" * draw.randrange(60))
            for _ in range(draw.randrange(12))
        ]
        complete = draw.random() < 0.5
        entry = CachedHistory.of(1, complete, list(messages), [text_cost(m.text) for m in messages])
        if messages and draw.random() < 0.3:  # a trimmed entry: its totals start anywhere
            dropped = entry.trim(draw.randrange(len(messages)))
            messages, complete = messages[dropped:], entry.complete
        limit = draw.choice([None, 0, 1, 2, 3, 5, 20])
        tokens = draw.choice([None, 0, 3, 4, 5, 10, 17, 30, 60, 200, 10**6])
        assert entry.select(limit, tokens) == _walked(messages, complete, limit, tokens), (
            [(m.role, len(m.text)) for m in messages],
            complete,
            limit,
            tokens,
        )


def test_the_least_recently_used_session_leaves_a_full_cache(db_path: Path) -> None:
    with SqliteStore(db_path, cache_sessions=2) as store:
        for n in range(3):
            store.append(f"tg:main:{n}:{n}", Message("user", "hi"))
            store.history(f"tg:main:{n}:{n}")
        assert len(store.cache) == 2


def test_more_users_than_a_fixed_number_of_sessions_in_rotation_find_theirs(
    store: SqliteStore,
) -> None:
    keys = [f"tg:main:{n}:{n}" for n in range(200)]
    for key in keys:
        store.append(key, Message("user", "hi"))
        store.history(key, tokens=12000)
    hits = store.cache.hits
    for key in keys:  # the second round: each session's turn reads its history again
        store.append(key, Message("assistant", "hello"))
        assert [m.text for m in store.history(key, tokens=12000)] == ["hi", "hello"]
    assert store.cache.hits - hits == len(keys)


def test_the_cache_holds_at_most_its_total_rows_least_recently_used_first() -> None:
    cache = HistoryCache(size=100, rows=100, total_rows=10)
    for n in range(5):
        rows = [row_tuple(4 * n + i, message_row(Message("user", f"m{i}"))) for i in range(4)]
        cache.appended(f"k{n}", n, True, rows)
        assert cache.held <= 10
    assert (len(cache), cache.held) == (2, 8)
    assert cache.get("k0", None, None) is None  # the oldest left first
    assert [m.text for m in cache.get("k4", None, None) or []] == ["m0", "m1", "m2", "m3"]
    cache.drop("k4")
    assert cache.held == 4


def test_a_closed_store_and_its_cached_history_are_freed_without_the_collector(
    db_path: Path,
) -> None:
    store = SqliteStore(db_path)
    store.append(KEY, Message("user", "hi"))
    store.history(KEY)
    cached = weakref.ref(store.cache)
    closed = weakref.ref(store)
    store.close()
    gc.disable()  # only reference counting may free them
    try:
        del store
        assert closed() is None
        assert cached() is None
    finally:
        gc.enable()


def test_stored_messages_without_calls_share_one_list_nobody_can_change(
    store: SqliteStore,
) -> None:
    for n in range(30):
        store.append(KEY, Message("user" if n % 2 else "assistant", f"m{n}"))
    call = ToolCall("c1", "read_file", '{"path": "x"}')
    store.append_round(
        KEY, Message("assistant", "", tool_calls=[call]), [Message("tool", "x", tool_call_id="c1")]
    )
    store.append(KEY, Message("assistant", "done"))  # extends the cached history, if any
    reads = []
    for read in (
        lambda: store.history(KEY, tokens=1000),  # the read within a budget
        lambda: store.history(KEY),  # every column of every row
    ):
        store.cache.clear()
        reads.append(read())
        reads.append(read())  # from the cache, with the appends after it
        store.append(KEY, Message("user", "next"))
        reads.append(read())
    plain = [m for history in reads for m in history if not m.tool_calls]
    assert len(plain) > 150
    # one object for all of them: each held by the cache is one object less for the collector
    assert len({id(m.tool_calls) for m in plain}) == 1
    shared = plain[0].tool_calls
    assert shared == [] and isinstance(shared, list)
    assert plain[0] == Message(plain[0].role, plain[0].content, created_at=plain[0].created_at)
    for change in (
        lambda: shared.append(call),
        lambda: shared.extend([call]),
        lambda: shared.insert(0, call),
        lambda: shared.__setitem__(slice(0, 0), [call]),
        lambda: shared.__iadd__([call]),
    ):
        with pytest.raises(TypeError, match="shared"):
            change()
    assert shared == [] and len(store.history(KEY)[0].tool_calls) == 0
    [with_calls] = [m for m in reads[0] if m.tool_calls]
    assert with_calls.tool_calls == [call] and with_calls.tool_calls is not shared


def test_commits_do_not_checkpoint_a_thread_does(db_path: Path) -> None:
    with SqliteStore(db_path, checkpoint_every=10) as store:
        assert store._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        for n in range(35):
            store.append(KEY, Message("user", f"m{n}"))
        deadline = time.monotonic() + 10
        while store.checkpointer.runs < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert store.checkpointer.runs >= 1
    assert not db_path.with_name("sessions.db-wal").exists()  # the last close checkpointed


def test_export_and_key_migration_are_functions_over_a_store(store: SqliteStore) -> None:
    assert not hasattr(SessionStore, "export_markdown")
    assert not hasattr(SessionStore, "migrate_keys")
    store.append("tg:main:7", Message("user", "old key"))
    seen: list[tuple[int, int]] = []
    assert migrate_keys(store, progress=lambda done, total: seen.append((done, total))) == 1
    assert seen == [(1, 1)]
    assert [m.text for m in store.history("tg:main:0:7")] == ["old key"]
    text = export_markdown(store, "tg:main:0:7")
    assert text.startswith("# Conversation `tg:main:0:7`") and "old key" in text


def test_a_failed_transaction_changes_nothing(store: SqliteStore) -> None:
    store.append("tg:main:7", Message("user", "old key"))
    with pytest.raises(RuntimeError), store.transaction() as db:
        db.execute("UPDATE sessions SET key = 'x'")
        raise RuntimeError("boom")
    assert [s.key for s in store.list_sessions()] == ["tg:main:7"]


def _wait(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_the_thread_starts_the_wal_so_no_commit_waits_for_its_header(db_path: Path) -> None:
    """Starting a WAL afresh (after an open, after a checkpoint that copied all of it) writes
    its header and waits for two fdatasyncs: the thread does that, not a turn's first commit."""
    SqliteStore(db_path).close()
    wal = db_path.with_name("sessions.db-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # the last close removed it
    with SqliteStore(db_path, checkpoint_every=10) as store:
        _wait(lambda: store.checkpointer.primed >= 1)
        assert store.checkpointer.primed == 1
        assert wal.stat().st_size >= 32 + 24 + 4096  # header and one frame, before any append
        # the turn's statements were compiled on rows made for it and rolled back: none is left
        counts = "SELECT (SELECT COUNT(*) FROM sessions), (SELECT COUNT(*) FROM messages), "
        counts += "(SELECT COUNT(*) FROM inbound)"
        assert store._db.execute(counts).fetchone() == (0, 0, 0)
        version = store._db.execute("PRAGMA data_version").fetchone()[0]
        store.history(KEY)
        for n in range(10):
            store.append(KEY, Message("user", f"m{n}"))
        _wait(lambda: store.checkpointer.primed >= 2)
        assert store.checkpointer.runs == 1 and store.checkpointer.primed == 2
        # own commits: the cache is still valid
        assert store._db.execute("PRAGMA data_version").fetchone()[0] == version
        assert [m.text for m in store.history(KEY)] == [f"m{n}" for n in range(10)]
        assert store.cache.hits >= 1
