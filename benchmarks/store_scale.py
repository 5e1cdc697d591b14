"""The session store at scale: per-turn store work and `/db`, `/status` on a large database.

Builds a SQLite file of `--messages` messages over `--sessions` sessions in a temporary
directory (plain `executemany` in one transaction, after `SqliteStore` made the schema), then
times, on the real `SqliteStore`:

- a turn's store work on a session of `messages / sessions` messages, in the order the gateway
  does it (a session's first turn on a store just opened, then on one open for a while, then
  turns whose history is cached): record the delivery, mark the turn started at the session's
  size and store its user message (one write), look up the session's model, read the history
  within `history_tokens`, append a tool round, append the answer, finish the delivery;
- `stats()` (what `/db` shows) and `session(key)` plus `session_model(key)` (what `/status` and
  the turn's start ask).

Each turn uses another session so every one measured holds about the same number of messages.

Before the turns it prints the machine's speed (`machine_speed`), and after each set of turns
the time the host took the machine's CPUs away while they ran (`host_steal_ms`, Linux's steal
time), to compare runs by.

    python benchmarks/store_scale.py                 # 1,000,000 messages / 1,000 sessions
    python benchmarks/store_scale.py --messages 100000 --sessions 100 --turns 100
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from openclaw.gateway.runner import YOUNG_GENERATION, freeze_heap
from openclaw.messages import Message, ToolCall
from openclaw.store import SqliteStore
from openclaw.store.schema import message_ids

HISTORY_TOKENS = 12000  # the default `agent.history_tokens`
TURN_LIMIT_MS = 2.0  # issue 18: p99 of a turn's store work
COMMAND_LIMIT_MS = 20.0  # issue 18: `/status` and `/db`
TEXT = "a message of an ordinary length, about as long as a chat line usually is."


def build(path: Path, messages: int, sessions: int, interleaved: bool = False) -> None:
    """The schema from `SqliteStore`, then every row in one transaction: each session's rows
    one after the other, or `interleaved` (the first message of every session, then the second
    of every session, ...: sessions that talk at the same time, each row of a session on
    another page)."""
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
        order = (
            ((session, n) for n in range(per_session) for session in range(1, sessions + 1))
            if interleaved
            else ((session, n) for session in range(1, sessions + 1) for n in range(per_session))
        )
        rows = (
            (
                message_ids(session)[0] + n,  # the ids `SqliteStore` gives a session's messages
                session,
                "user" if n % 2 == 0 else "assistant",
                TEXT,
                4 + len(TEXT) // 4,
                start + n,
            )
            for session, n in order
        )
        conn.executemany(
            "INSERT INTO messages (id, session_id, role, content, tokens, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
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


class CollectorTime:
    """The garbage collector's passes, timed through `gc.callbacks`: a pass runs in whichever
    call allocates past a threshold, so a turn's figures include the passes its steps
    triggered, and this tells them apart."""

    def __init__(self) -> None:
        self.ms = 0.0  # all passes so far
        self.passes: dict[int, list[float]] = {}  # ms of each pass, by generation
        self._began = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
            return
        ms = (time.perf_counter() - self._began) * 1000
        self.ms += ms
        self.passes.setdefault(info["generation"], []).append(ms)

    def summary(self, since: dict[int, int]) -> str:
        """The passes after `since` (`counts()` taken before), by generation."""
        shown = []
        for generation, values in sorted(self.passes.items()):
            new = values[since.get(generation, 0) :]
            if new:
                total, longest = sum(new), max(new)
                shown.append(f"gen {generation}: {len(new)}, {total:.1f} ms, longest {longest:.2f}")
        return "; ".join(shown) or "none"

    def counts(self) -> dict[int, int]:
        return {generation: len(values) for generation, values in self.passes.items()}


COLLECTOR = CollectorTime()


def turn(store: SqliteStore, key: str, n: int) -> dict[str, float]:
    """One turn's store work, each step timed (ms); then their sum, the collector's passes in
    them, and the sum without those."""
    steps: dict[str, float] = {}
    collected = COLLECTOR.ms

    def step(name: str, call: Callable[[], object]) -> None:
        begin = time.perf_counter()
        call()
        steps[name] = (time.perf_counter() - begin) * 1000

    delivery = f"d{n}"
    step("record_inbound", lambda: store.record_inbound("telegram", delivery, key, str(n), "{}"))

    question = Message("user", TEXT)
    step(
        "start_inbound + user",
        lambda: store.start_inbound("telegram", [delivery], key, message=question),
    )
    step("session_model", lambda: store.session_model(key))
    step("history (round 1)", lambda: store.history(key, tokens=HISTORY_TOKENS))
    call = Message("assistant", "", tool_calls=[ToolCall(f"c{n}", "read_file", '{"path": "x"}')])
    result = Message("tool", "file contents " * 20, tool_call_id=f"c{n}", name="read_file")
    step("append_round", lambda: store.append_round(key, call, [result], model="m/x"))
    step("history (round 2)", lambda: store.history(key, tokens=HISTORY_TOKENS))
    step("append answer", lambda: store.append(key, Message("assistant", TEXT), model="m/x"))
    step("finish_inbound", lambda: store.finish_inbound("telegram", [delivery]))
    steps["turn total"] = sum(steps.values())
    steps["  collector in it"] = COLLECTOR.ms - collected
    steps["  total less collector"] = steps["turn total"] - steps["  collector in it"]
    return steps


def machine_speed(times: int = 300) -> float:
    """Median ms of a fixed pure-Python workload (2,500 tuples built) with 2 ms pauses between
    calls, as turns come: how fast the machine is while this run lasts, to read its figures by
    (a shared machine's speed changes from one minute to the next)."""

    def work() -> None:
        [("user", str(n), [], None, None, False, 1.0) for n in range(2500)]

    values = []
    gc.disable()  # the machine's speed, not the collector's
    try:
        for _ in range(times):
            values.extend(timed(work, 1))
            time.sleep(0.002)
    finally:
        gc.enable()
    return statistics.median(values)


def host_steal_ms() -> float | None:
    """Milliseconds of CPU time the host gave other guests since boot, over all CPUs (the
    `steal` column of `/proc/stat`); None where there is none to read."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()
        return int(fields[8]) * 1000 / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def stolen(begin: float | None, wall: float) -> str:
    """The steal since `begin` (a `host_steal_ms`) over `wall` seconds, as a line to report."""
    end = host_steal_ms()
    if begin is None or end is None:
        return ""
    cpus = os.cpu_count() or 1
    return f"  (host steal while they ran: {end - begin:.0f} ms of {wall * 1000 * cpus:.0f} CPU ms)"


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def percentiles(values: list[float], limit: float | None = None) -> str:
    shown = f"p50 {statistics.median(values):8.3f} ms   p99 {p99(values):8.3f} ms"
    if limit is not None:
        shown += f"   p99/limit {p99(values) / limit:5.2f} (limit {limit:g} ms)"
    return shown


def report(title: str, measure: Callable[[], dict[str, list[float]]], limit: float) -> None:
    """Run `measure`, then print each step's percentiles, the collector's passes and the host's
    steal while it ran."""
    steal, begin, passes = host_steal_ms(), time.perf_counter(), COLLECTOR.counts()
    per_step = measure()
    print(title)
    for name, values in per_step.items():
        shown = percentiles(values, limit if "total" in name else None)
        print(f"  {name:24} {shown}")
    print(f"  (the collector's passes while they ran: {COLLECTOR.summary(passes)})")
    if line := stolen(steal, time.perf_counter() - begin):
        print(line)


def first_turns(path: Path, sessions: int, turns: int) -> dict[str, list[float]]:
    """Each session's first turn on a store just opened (the gateway's first turn after a
    start: no history cached, no statement prepared); the open and what the gateway does at
    its start (`claim_unanswered`) are not timed, nor the WAL's priming by the checkpoint
    thread, waited for as the gateway's start (connecting its channels) outlasts it."""
    per_step: dict[str, list[float]] = {}
    for n in range(turns):
        key = f"telegram:main:{n % sessions + 1}:{n % sessions + 1}"
        with SqliteStore(path) as store:
            store.claim_unanswered()
            deadline = time.monotonic() + 1
            # (an older version of the store, put first on sys.path, primes nothing)
            while not getattr(store.checkpointer, "primed", 1) and time.monotonic() < deadline:
                time.sleep(0.001)
            for name, ms in turn(store, key, n).items():
                per_step.setdefault(name, []).append(ms)
    return per_step


def cold_turns(store: SqliteStore, sessions: int, turns: int) -> dict[str, list[float]]:
    """Each session's first turn on a store open for a while (after a restart, every session's
    first turn but the very first; later, a session whose history the cache let go): its
    history read from the file, on a connection whose statements are prepared. The sessions
    are the last ones, which `first_turns` did not touch."""
    turn(store, f"telegram:main:{sessions}:{sessions}", 3_000_000)  # the connection's first
    per_step: dict[str, list[float]] = {}
    for n in range(turns):
        session = sessions - 1 - n % (sessions - 1)
        for name, ms in turn(store, f"telegram:main:{session}:{session}", 4_000_000 + n).items():
            per_step.setdefault(name, []).append(ms)
    return per_step


def next_turns(store: SqliteStore, sessions: int, turns: int) -> dict[str, list[float]]:
    """Turns on sessions that had one on this store already (their history is cached): as
    many as the cache holds at once, each with its full length counted."""
    length = store.stats().messages // sessions
    active = min(sessions, store.cache.size, store.cache.total_rows // (length + 8))
    keys = [f"telegram:main:{n + 1}:{n + 1}" for n in range(active)]
    for n, key in enumerate(keys):  # each session's first turn, not measured
        turn(store, key, 1_000_000 + n)
    per_step: dict[str, list[float]] = {}
    for n in range(turns):
        for name, ms in turn(store, keys[n % active], 2_000_000 + n).items():
            per_step.setdefault(name, []).append(ms)
    return per_step


class _Services:
    """What `/db` reads of the `Services` (its store), so the real handler runs."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store


def db_command_ms(store: SqliteStore, key: str, times: int) -> list[float]:
    """The `/db` command handler itself, as the gateway runs it."""
    from openclaw.commands import CommandContext
    from openclaw.default_plugins.core_commands import db_command

    context = CommandContext(services=_Services(store), session_key=key)  # type: ignore[arg-type]
    loop = asyncio.new_event_loop()
    try:
        return timed(lambda: loop.run_until_complete(db_command(context)), times)
    finally:
        loop.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--sessions", type=int, default=1_000)
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=50, help="calls of stats() and /status")
    parser.add_argument(
        "--interleaved",
        action="store_true",
        help="write the sessions' rows interleaved, as sessions that talk at the same time do, "
        "rather than each session's rows together",
    )
    parser.add_argument(
        "--young-generation",
        type=int,
        metavar="N",
        help="the collector's first threshold instead of the gateway's "
        f"({YOUNG_GENERATION}; CPython's default is 700)",
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="store-scale-") as tmp:
        path = Path(tmp) / "sessions.db"
        begin = time.perf_counter()
        build(path, args.messages, args.sessions, args.interleaved)
        built = time.perf_counter() - begin
        os.sync()  # the build's writeback would otherwise compete with the first turns timed
        size = path.stat().st_size / 1e6
        print(f"built {args.messages:,} messages / {args.sessions:,} sessions in {built:.1f} s")
        print(f"({size:.0f} MB)")

        # as `openclaw gateway` does after its start: the heap frozen (the collector then walks
        # only what turns allocate) and the young generation's threshold raised
        freeze_heap(collect=True)
        if args.young_generation is not None:
            gc.set_threshold(args.young_generation, *gc.get_threshold()[1:])
        print(f"collector thresholds: {gc.get_threshold()}")
        gc.callbacks.append(COLLECTOR)
        begin = time.perf_counter()
        SqliteStore(path).close()
        print(f"open (schema check / migrations): {(time.perf_counter() - begin) * 1000:.1f} ms")
        print(f"machine speed: a fixed Python workload takes {machine_speed():.3f} ms (p50)")
        length = args.messages // args.sessions
        report(
            f"\nfirst turn after a start (a fresh SqliteStore each, nothing cached), "
            f"{args.turns} turns on {length}-message sessions:",
            lambda: first_turns(path, args.sessions, args.turns),
            TURN_LIMIT_MS,
        )
        store = SqliteStore(path)
        report(
            f"\na session's first turn on a store already open (its history not cached), "
            f"{args.turns} turns on {length}-message sessions:",
            lambda: cold_turns(store, args.sessions, args.turns),
            TURN_LIMIT_MS,
        )
        report(
            f"\nnext turns (history cached), {args.turns} turns on {length}-message sessions:",
            lambda: next_turns(store, args.sessions, args.turns),
            TURN_LIMIT_MS,
        )

        key = "telegram:main:1:1"
        print(f"\n/db and /status, {args.repeat} calls each:")
        limit = COMMAND_LIMIT_MS
        db_ms = db_command_ms(store, key, args.repeat)
        print(f"  {'/db (db_command)':24} {percentiles(db_ms, limit)}")
        print(f"  {'stats()':24} {percentiles(timed(store.stats, args.repeat), limit)}")

        def status() -> None:  # the /status command's store call, then the HTTP /status ones
            store.session(key)
            store.stats()
            store.unanswered_count()

        print(f"  {'/status store calls':24} {percentiles(timed(status, args.repeat), limit)}")
        stats = store.stats()
        print(
            f"\nstats: {stats.sessions:,} sessions, {stats.messages:,} messages, "
            f"{stats.tokens:,} tokens"
        )
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
