"""Long `openclaw sessions` work shows progress on a terminal and nothing when not a TTY."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from openclaw.messages import Message
from openclaw.store import SqliteStore
from openclaw.testing.tty import run_with_tty_stderr

OLD = 1_000_000_000.0  # 2001: far older than any prune limit


def fill(db: Path) -> None:
    """1200 idle sessions (three batches of prune), one long session, 3-part legacy keys."""
    with SqliteStore(db, clock=lambda: OLD) as store:
        for number in range(1200):
            store.append(f"tg:main:0:{number}", Message("user", "hi", created_at=OLD))
        for number in range(5):
            store.append(f"dc:main:{number}", Message("user", "legacy", created_at=OLD))
    with SqliteStore(db) as store:
        for number in range(600):
            store.append("cli:main:local:long", Message("user", f"line {number}"))


def env_for(home: Path) -> dict[str, str]:
    return {**os.environ, "OPENCLAW_HOME": str(home), "OPENCLAW_LOAD_PLUGINS": ""}


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "openclaw.cli", *args]


def test_prune_export_and_migrate_show_progress_on_a_terminal(openclaw_home, tmp_path):
    fill(openclaw_home / "sessions.db")
    env = env_for(openclaw_home)
    code, out, err = run_with_tty_stderr(cli("sessions", "migrate"), env)
    assert (code, out) == (0, "migrated 5 session key(s)\n"), err
    assert "migrating session keys: 5/5 (100%)" in err
    code, out, err = run_with_tty_stderr(
        cli("sessions", "export", "long", "-o", str(tmp_path / "x.md")), env
    )
    assert code == 0, err
    assert "exporting messages: 600/600 (100%)" in err
    code, out, err = run_with_tty_stderr(cli("sessions", "prune", "--days", "1"), env)
    assert (code, out) == (0, "pruned 1205 session(s) older than 1 days\n"), err
    assert "pruning sessions: 1205/1205 (100%)" in err
    assert err.endswith("\r\x1b[K")  # the line is erased: the result is what stays


def test_nothing_extra_when_stderr_is_not_a_terminal(run, openclaw_home):
    fill(openclaw_home / "sessions.db")
    for args in (("sessions", "migrate"), ("sessions", "prune", "--days", "1")):
        done = run(*args)
        assert done.returncode == 0 and done.stderr == "", done.stderr
