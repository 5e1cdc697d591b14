"""SIGKILL mid-turn, again and again, while several users send: after the restarts every
message has exactly one answer, the database is intact and the model never saw a broken
conversation (`benchmarks/crash_recovery.py` runs the same, larger)."""

from __future__ import annotations

from pathlib import Path

from openclaw_channel_telegram.testing.crash import CrashRun


def test_sigkill_mid_turn_answers_every_message_once(tmp_path: Path):
    run = CrashRun(tmp_path / "home", users=3, messages=4, kills=3, delay=0.06)
    report = run.run(timeout=90)  # four gateway starts, each importing aiogram (seconds)
    assert report.kills >= 2, report.line()
    assert report.sent == 12, report.line()
    assert (report.lost, report.duplicates) == (0, 0), report.problems
    assert report.answered == 12
    assert report.malformed == 0, report.problems
    assert report.integrity == "ok"
    assert report.resumed_notes >= 1, "no kill landed in a turn"
