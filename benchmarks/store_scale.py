"""The session store at scale: per-turn store work and `/db`, `/status` on a large database.

Builds a SQLite file of `--messages` messages over `--sessions` sessions in a temporary
directory (plain `executemany` in one transaction, after `SqliteStore` made the schema), then
times, on the real `SqliteStore`:

- a turn's store work on a session of `messages / sessions` messages, in the order the gateway
  does it: record the delivery, read the session's size and mark the turn started, look up the
  session's model, append the user message, read the history within `history_tokens`, append a
  tool round, append the answer, finish the delivery;
- `stats()` (what `/db` shows) and `session(key)` plus `session_model(key)` (what `/status` and
  the turn's start ask).

Each turn uses another session so every one measured holds about the same number of messages.

    python benchmarks/store_scale.py                 # 1,000,000 messages / 1,000 sessions
    python benchmarks/store_scale.py --messages 100000 --sessions 100 --turns 100
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from openclaw.messages import Message, ToolCall
from openclaw.store import SqliteStore

HISTORY_TOKENS = 12000  # the default `agent.history_tokens`
TEXT = "a message of an ordinary length, about as long as a chat line usually is."


def build(path: Path, messages: int, sessions: int) -> None:
    """The schema from `SqliteStore`, then every row in one transaction."""
    SqliteStore(path).close()
    conn = sqlite3.connect(path)
    per_session = messages // sessions
    start = time.time() - 86400
    with conn:
        conn.executemany(
            "INSERT INTO sessions (id, key, channel, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                (i, f"telegram:main:{i}:{i}", "telegram" if i % 4 else "discord", start, start + i)
                for i in range(1, sessions + 1)
            ],
        )
        rows = (
            (
                session,
                "user" if n % 2 == 0 else "assistant",
                TEXT,
                4 + len(TEXT) // 4,
                start + n,
            )
            for session in range(1, sessions + 1)
            for n in range(per_session)
        )
        conn.executemany(
            "INSERT INTO messages (session_id, role, content, tokens, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            rows,
        )
    conn.close()


def timed(call: Callable[[], object], times: int) -> list[float]:
    """Milliseconds of each of `times` calls."""
    out = []
    for _ in range(times):
        begin = time.perf_counter()
        call()
        out.append((time.perf_counter() - begin) * 1000)
    return out


def turn(store: SqliteStore, key: str, n: int) -> dict[str, float]:
    """One turn's store work, each step timed (ms)."""
    steps: dict[str, float] = {}

    def step(name: str, call: Callable[[], object]) -> None:
        begin = time.perf_counter()
        call()
        steps[name] = (time.perf_counter() - begin) * 1000

    delivery = f"d{n}"
    step("record_inbound", lambda: store.record_inbound("telegram", delivery, key, str(n), "{}"))

    def started() -> None:
        info = store.session(key)
        base = info.message_count if info is not None else 0
        store.start_inbound("telegram", [delivery], key, base)

    step("session+start_inbound", started)
    step("session_model", lambda: store.session_model(key))
    step("append user", lambda: store.append(key, Message("user", TEXT)))
    step("history(tokens)", lambda: store.history(key, tokens=HISTORY_TOKENS))
    call = Message("assistant", "", tool_calls=[ToolCall(f"c{n}", "read_file", '{"path": "x"}')])
    result = Message("tool", "file contents " * 20, tool_call_id=f"c{n}", name="read_file")
    step("append_round", lambda: store.append_round(key, call, [result], model="m/x"))
    step("append answer", lambda: store.append(key, Message("assistant", TEXT), model="m/x"))
    step("finish_inbound", lambda: store.finish_inbound("telegram", [delivery]))
    steps["turn total"] = sum(steps.values())
    return steps


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered):8.3f} ms   p99 {p99:8.3f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--sessions", type=int, default=1_000)
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=50, help="calls of stats() and /status")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="store-scale-") as tmp:
        path = Path(tmp) / "sessions.db"
        begin = time.perf_counter()
        build(path, args.messages, args.sessions)
        built = time.perf_counter() - begin
        size = path.stat().st_size / 1e6
        print(f"built {args.messages:,} messages / {args.sessions:,} sessions in {built:.1f} s")
        print(f"({size:.0f} MB)")

        begin = time.perf_counter()
        store = SqliteStore(path)
        print(f"open (schema check / migrations): {(time.perf_counter() - begin) * 1000:.1f} ms")
        per_step: dict[str, list[float]] = {}
        for n in range(args.turns):
            key = f"telegram:main:{n % args.sessions + 1}:{n % args.sessions + 1}"
            for name, ms in turn(store, key, n).items():
                per_step.setdefault(name, []).append(ms)
        print(
            f"\nper-turn store work, {args.turns} turns on {args.messages // args.sessions}"
            "-message sessions:"
        )
        for name, values in per_step.items():
            print(f"  {name:24} {percentiles(values)}")

        key = "telegram:main:1:1"
        print(f"\n/db and /status store queries, {args.repeat} calls each:")
        print(f"  {'stats() (/db)':24} {percentiles(timed(store.stats, args.repeat))}")

        def status() -> None:
            store.session(key)
            store.session_model(key)

        print(f"  {'session+model (/status)':24} {percentiles(timed(status, args.repeat))}")
        stats = store.stats()
        print(
            f"\nstats: {stats.sessions:,} sessions, {stats.messages:,} messages, "
            f"{stats.tokens:,} tokens"
        )
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
