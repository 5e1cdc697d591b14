"""The cron executor on virtual time: runs fire at the right instants across DST changes,
missed runs run once, a failing job records its error and stops nothing, a corrupt jobs.json
is reported and never overwritten, a job never runs twice at once; and the heartbeat."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from openclaw.config import ConfigError, load_config
from openclaw.cron import Job, JobBusy, JobStore, job_session_key, jobs_path
from openclaw.cron_run import run_job
from openclaw.gateway.cron import CronExecutor
from openclaw.gateway.heartbeat import in_active_hours, is_ok, parse_active_hours
from openclaw.testing.cron_clock import VirtualClock

BERLIN = "Europe/Berlin"
DAY = 86400.0


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def to(chat: str) -> dict[str, str]:
    return {"channel": "test", "chat": chat}


class Deliveries:
    """A `deliver` that records (when, chat, text)."""

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self.sent: list[tuple[datetime, str, str]] = []

    async def __call__(self, target: Mapping[str, str], text: str) -> None:
        self.sent.append((self.clock.now(), target["chat"], text))

    def times(self, chat: str) -> list[datetime]:
        return [when for when, where, _ in self.sent if where == chat]


async def run_span(
    openclaw_make_app: Any,
    start: datetime,
    end: datetime,
    setup: Callable[[JobStore], None],
    *,
    tick: float = DAY,
    config: dict[str, Any] | None = None,
) -> tuple[Deliveries, JobStore, Any, Any]:
    """Add jobs with `setup` at `start`, then run the executor on virtual time until `end`."""
    clock = VirtualClock(start, end)
    app = openclaw_make_app(config=config)
    store = JobStore(jobs_path(app.config.home), clock=clock.now)
    setup(store)
    sent = Deliveries(clock)
    async with app:
        await clock.run(CronExecutor(app.services, deliver=sent, store=store, tick=tick))
    return sent, store, clock, app


def job(store: JobStore, name: str) -> Job:
    return next(j for j in store.load() if j.name == name)


async def test_cron_and_every_fire_at_the_right_instants_across_spring_forward(
    openclaw_make_app, openclaw_mock_model
):
    # Berlin: 2026-03-29 02:00 CET -> 03:00 CEST
    def setup(store: JobStore) -> None:
        store.add("gap", "30 2 * * *", "p", timezone=BERLIN, target=to("gap"))
        store.add("nine", "0 9 * * *", "p", timezone=BERLIN, target=to("nine"))
        store.add("daily", "every 1d", "p", timezone=BERLIN, target=to("every"))

    sent, store, _, app = await run_span(
        openclaw_make_app, utc(2026, 3, 27, 10), utc(2026, 3, 30, 12), setup
    )
    assert sent.times("gap") == [
        utc(2026, 3, 28, 1, 30),  # 02:30 CET
        utc(2026, 3, 29, 1, 30),  # 02:30 does not exist that night: 03:30 CEST
        utc(2026, 3, 30, 0, 30),  # 02:30 CEST
    ]
    assert sent.times("nine") == [utc(2026, 3, 28, 8), utc(2026, 3, 29, 7), utc(2026, 3, 30, 7)]
    assert sent.times("every") == [  # real 24 h steps from 11:00 CET
        utc(2026, 3, 28, 10),
        utc(2026, 3, 29, 10),
        utc(2026, 3, 30, 10),
    ]
    assert len(openclaw_mock_model.requests) == 9
    gap = job(store, "gap")
    assert gap.last_status == "ok" and gap.last_run == utc(2026, 3, 30, 0, 30)
    assert gap.next_run == utc(2026, 3, 31, 0, 30)
    async with app:
        history = app.store.history(job_session_key("main", gap))
    assert [m.role for m in history] == ["user", "assistant"] * 3


async def test_hourly_runs_through_both_repeated_hours_at_fall_back(openclaw_make_app):
    # Berlin: 2026-10-25 03:00 CEST -> 02:00 CET
    def setup(store: JobStore) -> None:
        store.add("hourly", "0 * * * *", "p", timezone=BERLIN, target=to("hourly"))
        store.add("once", "30 2 * * *", "p", timezone=BERLIN, target=to("once"))
        store.add("every", "every 1h", "p", timezone=BERLIN, target=to("every"))

    sent, *_ = await run_span(
        openclaw_make_app, utc(2026, 10, 24, 23, 15), utc(2026, 10, 25, 3, 10), setup, tick=30
    )
    hours = [utc(2026, 10, 25, h) for h in range(4)]  # 02:00 CEST, 02:00 CET, 03:00, 04:00 CET
    assert sent.times("hourly") == hours
    assert sent.times("once") == [utc(2026, 10, 25, 0, 30)]  # the first 02:30 only
    assert sent.times("every") == [h + timedelta(minutes=15) for h in hours[:3]]  # real hours


async def test_the_executor_sleeps_until_the_next_run_but_at_most_a_tick(openclaw_make_app):
    start = utc(2026, 5, 1, 12)

    def setup(store: JobStore) -> None:
        store.add("soon", "at 2026-05-01T12:00:45", "p", target=to("soon"))
        store.add("later", "every 2h", "p", target=to("later"))

    sent, store, clock, _ = await run_span(
        openclaw_make_app, start, start + timedelta(minutes=2), setup, tick=30
    )
    assert clock.sleeps[:2] == [30.0, 15.0]  # a tick, then exactly up to the one-shot
    assert max(clock.sleeps) == 30.0 and len(clock.sleeps) >= 4
    assert sent.sent == [(start + timedelta(seconds=45), "soon", "ok")]
    soon = job(store, "soon")
    assert soon.last_status == "ok" and soon.next_run is None
    assert job(store, "later").last_run is None


async def test_missed_runs_after_downtime_run_once(openclaw_make_app):
    down_at = utc(2026, 1, 1, 0, 0)
    back_at = utc(2026, 1, 1, 10, 17)
    app = openclaw_make_app()
    store = JobStore(jobs_path(app.config.home), clock=lambda: down_at)
    store.add("hourly", "0 * * * *", "p", target=to("hourly"))
    store.add("interval", "every 1h", "p", target=to("interval"))
    store.add("disabled", "every 1h", "p", target=to("disabled"))
    store.set_enabled("disabled", False)

    clock = VirtualClock(back_at, back_at + timedelta(minutes=30))
    sent = Deliveries(clock)
    async with app:
        await clock.run(CronExecutor(app.services, deliver=sent, store=store))
    assert sent.times("hourly") == [back_at]
    assert sent.times("interval") == [back_at]
    assert sent.times("disabled") == []
    assert job(store, "hourly").next_run == utc(2026, 1, 1, 11)
    assert job(store, "interval").next_run == utc(2026, 1, 1, 11)  # the phase is kept


async def test_jobs_written_by_hand_are_scheduled_when_first_read(openclaw_make_app):
    start = utc(2026, 3, 1, 12, 1)
    app = openclaw_make_app()
    path = jobs_path(app.config.home)
    path.parent.mkdir(parents=True)
    typed = {"id": "a1", "name": "typed", "schedule": "*/10 * * * *", "prompt": "p"}
    late = {"id": "b2", "name": "late", "schedule": "at 2026-03-01T11:00", "prompt": "p"}
    path.write_text(json.dumps({"jobs": [{**typed, "target": to("typed")}, late]}))
    store = JobStore(path)
    clock = VirtualClock(start, start + timedelta(minutes=25))
    sent = Deliveries(clock)
    async with app:
        await clock.run(CronExecutor(app.services, deliver=sent, store=store))
    assert sent.times("typed") == [utc(2026, 3, 1, 12, 10), utc(2026, 3, 1, 12, 20)]
    too_late = job(store, "late")
    assert not too_late.enabled and too_late.last_run is None
    assert too_late.last_error == "its time had passed when the job was first read"


async def test_a_failing_job_records_its_error_and_the_next_job_still_runs(
    openclaw_make_app, openclaw_mock_model
):
    openclaw_mock_model.enqueue(error="model exploded")
    start = utc(2026, 2, 1, 8)

    def setup(store: JobStore) -> None:
        store.add("bad", "5 8 * * *", "p", target=to("bad"))
        store.add("good", "6 8 * * *", "p", target=to("good"))

    sent, store, *_ = await run_span(openclaw_make_app, start, start + timedelta(minutes=10), setup)
    bad, good = job(store, "bad"), job(store, "good")
    assert bad.last_status == "error" and "model exploded" in (bad.last_error or "")
    assert bad.last_run == utc(2026, 2, 1, 8, 5) and bad.next_run == utc(2026, 2, 2, 8, 5)
    assert good.last_status == "ok" and good.last_error is None
    assert sent.sent == [(utc(2026, 2, 1, 8, 6), "good", "ok")]


async def test_a_target_channel_that_is_not_running_is_a_recorded_error(openclaw_make_app):
    start = utc(2026, 2, 1, 8)
    clock = VirtualClock(start, start + timedelta(minutes=3))
    app = openclaw_make_app()
    store = JobStore(jobs_path(app.config.home), clock=clock.now)
    store.add("to discord", "every 1m", "p", target={"channel": "discord", "chat": "7"})
    store.add("kept", "every 1m", "remember this")
    async with app:
        await clock.run(CronExecutor(app.services, channels={}, store=store))
        kept = job(store, "kept")
        history = app.store.history(job_session_key("main", kept))
    failed = job(store, "to discord")
    assert failed.last_status == "error"
    assert failed.last_error == "channel 'discord' is not running (running: none)"
    assert kept.last_status == "ok"  # no target: it just runs, the answer stays in its session
    assert [m.text for m in history[:2]] == ["remember this", "ok"]


async def test_a_corrupt_jobs_file_is_reported_and_never_overwritten(
    openclaw_make_app, openclaw_mock_model
):
    app = openclaw_make_app()
    path = jobs_path(app.config.home)
    path.parent.mkdir(parents=True)
    path.write_bytes(b'{"jobs": [{"id": "a", "name": "x"')
    executor = CronExecutor(app.services, deliver=None)
    now = datetime.now(UTC)
    assert executor.run_due(now) is None
    assert str(path) in (executor.problem or "") and "not valid JSON" in executor.status()["error"]
    assert path.read_bytes() == b'{"jobs": [{"id": "a", "name": "x"'

    # corrupted by hand while a job runs: recording the run fails, the file is left as it is
    path.unlink()
    store = JobStore(path, clock=lambda: now - timedelta(minutes=2))
    store.add("slow", "every 1m", "p")
    openclaw_mock_model.enqueue("late", delay=0.3)
    async with app:
        executor = CronExecutor(app.services, store=store)
        executor.run_due(now)
        assert executor.status()["running"] == [job(store, "slow").id]
        path.write_text("garbage")
        await executor.idle()
    assert path.read_text() == "garbage"
    assert "recording the run of 'slow' failed" in (executor.problem or "")


async def test_the_same_job_never_runs_twice_at_once(
    openclaw_make_app, openclaw_mock_model, openclaw_home
):
    openclaw_mock_model.enqueue("slow answer", delay=4)
    now = datetime.now(UTC)
    app = openclaw_make_app()
    store = JobStore(jobs_path(app.config.home), clock=lambda: now - timedelta(minutes=5))
    store.add("slow", "every 1m", "p")
    slow = job(store, "slow")
    async with app:
        executor = CronExecutor(app.services, store=store)
        assert executor.trigger(slow)
        assert not executor.trigger(slow)
        while not openclaw_mock_model.requests:  # the run has the lock and is in its turn
            await asyncio.sleep(0.01)
        executor.run_due(now)  # due, but running: not started again
        assert executor.status()["running"] == [slow.id]
        with pytest.raises(JobBusy):
            await run_job(app.services, store, slow, deliver=None, now=lambda: now)
        env = {**os.environ, "OPENCLAW_HOME": str(openclaw_home), "OPENCLAW_LOAD_PLUGINS": ""}
        cli = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "openclaw.cli", "cron", "run", "slow",
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, stderr = await cli.communicate()
        assert cli.returncode == 1
        assert f"job {slow.id} is running already" in stderr.decode()
        await executor.idle()
    assert len(openclaw_mock_model.requests) == 1
    assert job(store, "slow").last_status == "ok"


async def test_heartbeat_ok_is_silent_and_anything_else_is_delivered(
    openclaw_make_app, openclaw_mock_model
):
    config = {"heartbeat": {"enabled": True, "every": "30m", "target": {"channel": "x", "chat": 5}}}
    app = openclaw_make_app(config=config)
    (app.config.workspace).mkdir(parents=True, exist_ok=True)
    (app.config.workspace / "HEARTBEAT.md").write_text("- check the build\n")
    openclaw_mock_model.enqueue("**HEARTBEAT_OK**").enqueue("The build is red.")
    start = utc(2026, 4, 1, 9)
    clock = VirtualClock(start, start + timedelta(minutes=65))
    sent = Deliveries(clock)
    async with app:
        executor = CronExecutor(app.services, deliver=sent)
        await clock.run(executor)
    assert sent.sent == [(start + timedelta(hours=1), "5", "The build is red.")]
    asked = openclaw_mock_model.requests[0].messages[-1].text
    assert "HEARTBEAT_OK" in asked and "- check the build" in asked
    status = executor.status()["heartbeat"]
    assert status["last_status"] == "delivered"
    assert status["next_due"] == "2026-04-01T10:30:00+00:00"


async def test_heartbeat_keeps_to_its_active_hours_and_needs_a_checklist(
    openclaw_make_app, openclaw_mock_model
):
    config = {
        "heartbeat": {
            "enabled": True,
            "every": "1h",
            "active_hours": "08:00-10:00",
            "timezone": BERLIN,
            "target": {"channel": "x", "chat": "5"},
        }
    }
    app = openclaw_make_app(config=config)
    start = utc(2026, 1, 10, 5, 30)  # 06:30 in Berlin (CET)
    clock = VirtualClock(start, start + timedelta(hours=5))
    sent = Deliveries(clock)
    async with app:
        await clock.run(CronExecutor(app.services, deliver=sent), timeout=10)
    assert sent.sent == [] and openclaw_mock_model.requests == []  # no HEARTBEAT.md: no turn

    app.config.workspace.mkdir(parents=True, exist_ok=True)
    (app.config.workspace / "HEARTBEAT.md").write_text("look around")
    clock = VirtualClock(start, start + timedelta(hours=5))
    sent = Deliveries(clock)
    async with app:
        await clock.run(CronExecutor(app.services, deliver=sent), timeout=10)
    # beats at 07:30, 08:30, 09:30, 10:30 and 11:30 Berlin time: two in the active hours
    assert [when for when, _, _ in sent.sent] == [utc(2026, 1, 10, 7, 30), utc(2026, 1, 10, 8, 30)]


def test_heartbeat_helpers() -> None:
    assert is_ok("HEARTBEAT_OK") and is_ok("  `HEARTBEAT_OK`.\n") and is_ok("*HEARTBEAT_OK*")
    assert not is_ok("HEARTBEAT_OK, but the disk is full") and not is_ok("")
    night = "22:00-06:00"
    assert in_active_hours(utc(2026, 1, 1, 23), night, "UTC")
    assert in_active_hours(utc(2026, 1, 1, 5, 59), night, "UTC")
    assert not in_active_hours(utc(2026, 1, 1, 6), night, "UTC")
    assert in_active_hours(utc(2026, 1, 1, 23, 59), "08:00-24:00", "UTC")
    assert in_active_hours(utc(2026, 1, 1, 3), None, "UTC")
    for bad in ("8-22", "08:00-25:00", "09:00-09:00", "07:60-08:00"):
        with pytest.raises(ValueError):
            parse_active_hours(bad)


@pytest.mark.parametrize(
    ("section", "points_at"),
    [
        ({"every": "30 minutes"}, "heartbeat.every"),
        ({"active_hours": "8am-10pm"}, "heartbeat.active_hours"),
        ({"timezone": "Mars/Olympus"}, "heartbeat.timezone"),
        ({"target": {"channel": "telegram"}}, "heartbeat.target.chat"),
        ({"evry": "1h"}, "heartbeat.evry"),
    ],
)
def test_bad_heartbeat_config_names_the_field(openclaw_home, section, points_at) -> None:
    (openclaw_home / "openclaw.json").write_text(json.dumps({"heartbeat": section}))
    with pytest.raises(ConfigError, match=points_at.replace(".", r"\.")):
        load_config()
