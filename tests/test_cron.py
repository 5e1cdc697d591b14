"""The cron job store and schedules: DST-correct next runs from a controlled clock, write-time
validation, concurrent writers, a corrupt file left alone, and the `openclaw cron` CLI."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from openclaw.cron import CronStoreError, JobStore, ScheduleError, next_run, validate_schedule

BERLIN = "Europe/Berlin"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def fire_times(schedule: str, start: datetime, count: int, tz: str = BERLIN) -> list[datetime]:
    """The next `count` instants (in UTC), stepping the clock to each one in turn."""
    times, now = [], start
    for _ in range(count):
        found = next_run(schedule, tz, now)
        assert found is not None
        times.append(found.astimezone(UTC))
        now = found
    return times


def test_daily_cron_keeps_wall_time_across_spring_forward() -> None:
    # Berlin: 2026-03-29 02:00 CET -> 03:00 CEST
    assert fire_times("0 9 * * *", utc(2026, 3, 27, 12), 3) == [
        utc(2026, 3, 28, 8),  # 09:00 CET
        utc(2026, 3, 29, 7),  # 09:00 CEST
        utc(2026, 3, 30, 7),
    ]


def test_hourly_cron_skips_nothing_and_doubles_nothing_in_spring_gap() -> None:
    assert fire_times("0 * * * *", utc(2026, 3, 28, 23, 30), 4) == [
        utc(2026, 3, 29, 0),  # 01:00 CET
        utc(2026, 3, 29, 1),  # 02:00 does not exist: 03:00 CEST
        utc(2026, 3, 29, 2),  # 04:00 CEST
        utc(2026, 3, 29, 3),
    ]


def test_time_inside_the_gap_runs_once_shifted_forward() -> None:
    found = next_run("30 2 * * *", BERLIN, utc(2026, 3, 28, 12))
    assert found is not None
    assert found.astimezone(UTC) == utc(2026, 3, 29, 1, 30)  # 03:30 CEST
    assert (found.hour, found.minute) == (3, 30)


def test_daily_cron_in_repeated_hour_runs_once_at_fall_back() -> None:
    # Berlin: 2026-10-25 03:00 CEST -> 02:00 CET, so 02:30 happens twice
    assert fire_times("30 2 * * *", utc(2026, 10, 24, 12), 3) == [
        utc(2026, 10, 25, 0, 30),  # first 02:30 (CEST)
        utc(2026, 10, 26, 1, 30),  # 02:30 CET
        utc(2026, 10, 27, 1, 30),
    ]


def test_sub_hourly_cron_follows_real_time_through_repeated_hour() -> None:
    assert fire_times("*/30 * * * *", utc(2026, 10, 24, 23, 45), 5) == [
        utc(2026, 10, 25, 0, 0),  # 02:00 CEST
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 25, 1, 0),  # 02:00 CET
        utc(2026, 10, 25, 1, 30),
        utc(2026, 10, 25, 2, 0),  # 03:00 CET
    ]


@pytest.mark.parametrize("start", [utc(2026, 3, 28, 23, 0), utc(2026, 10, 24, 23, 0)])
def test_every_counts_real_elapsed_time_across_dst(start: datetime) -> None:
    times = fire_times("every 30m", start, 8)
    assert [b - a for a, b in zip([start, *times], times, strict=False)] == [
        timedelta(minutes=30)
    ] * 8
    day = fire_times("every 1d", start, 2)
    assert day == [start + timedelta(days=1), start + timedelta(days=2)]


def test_every_is_anchored_to_last_run() -> None:
    anchor = utc(2026, 1, 1, 10, 0)
    assert next_run("every 2h", BERLIN, utc(2026, 1, 1, 13, 5), anchor=anchor) == utc(
        2026, 1, 1, 14, 0
    )


def test_at_fires_once() -> None:
    assert next_run("at 2026-12-24T18:00", BERLIN, utc(2026, 12, 1)) == utc(2026, 12, 24, 17)
    assert next_run("at 2026-12-24T18:00", BERLIN, utc(2026, 12, 24, 17)) is None


@pytest.mark.parametrize(
    ("schedule", "timezone", "points_at"),
    [
        ("61 * * * *", "UTC", "minute field '61'"),
        ("0 25 * * *", "UTC", "hour field '25'"),
        ("0 9 32 * *", "UTC", "day-of-month field '32'"),
        ("0 9 * 13 *", "UTC", "month field '13'"),
        ("0 9 * * mon-funday", "UTC", "day-of-week field"),
        ("0 9 * *", "UTC", "has 4 field(s)"),
        ("0 0 30 2 *", "UTC", "never matches a date"),
        ("every 30x", "UTC", "not an interval"),
        ("every 0m", "UTC", "at least 1"),
        ("at tomorrow", "UTC", "not an ISO datetime"),
        ("0 9 * * *", "Mars/Olympus", "timezone: unknown IANA timezone"),
    ],
)
def test_invalid_schedules_name_the_bad_field(schedule: str, timezone: str, points_at: str) -> None:
    with pytest.raises(ScheduleError, match=r"^(schedule|timezone)") as info:
        validate_schedule(schedule, timezone)
    assert points_at in str(info.value)


def test_store_rejects_invalid_and_past_schedules_without_writing(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "cron" / "jobs.json", clock=lambda: utc(2026, 6, 1))
    with pytest.raises(ScheduleError, match="hour field"):
        store.add("bad", "0 99 * * *", "hi")
    with pytest.raises(ScheduleError, match="in the past"):
        store.add("old", "at 2026-01-01T00:00", "hi")
    assert not store.path.exists()


def test_store_round_trip_enable_disable_remove(tmp_path: Path) -> None:
    now = [utc(2026, 6, 1, 6, 0)]
    store = JobStore(tmp_path / "cron" / "jobs.json", clock=lambda: now[0])
    job = store.add(
        "Morning brief",
        "0 9 * * 1-5",
        "Summarise my day",
        timezone=BERLIN,
        target={"channel": "telegram", "chat": "42"},
    )
    assert job.next_run == utc(2026, 6, 1, 7)
    with pytest.raises(ScheduleError, match="already exists"):
        store.add("morning BRIEF", "every 1h", "again")

    data = json.loads(store.path.read_text())
    assert set(data["jobs"][0]) == {
        "id",
        "name",
        "schedule",
        "timezone",
        "prompt",
        "target",
        "enabled",
        "last_run",
        "last_status",
        "next_run",
        "last_error",
        "owner",
    }
    assert store.set_enabled("morning", False).enabled is False
    now[0] = utc(2026, 6, 3, 8, 0)
    enabled = store.set_enabled(job.id, True)
    assert enabled.next_run == utc(2026, 6, 4, 7)  # from now, not the stale next_run
    assert store.remove("BRIEF").id == job.id
    assert store.load() == []


def test_partial_name_matching_several_jobs_is_refused(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.json")
    store.add("news am", "every 1h", "x")
    store.add("news pm", "every 2h", "y")
    with pytest.raises(CronStoreError, match="several jobs"):
        store.remove("news")
    with pytest.raises(CronStoreError, match="no job matches"):
        store.remove("weather")


def _add_jobs(path: str, prefix: str, count: int) -> None:
    store = JobStore(Path(path))
    for index in range(count):
        store.add(f"{prefix}-{index}", "every 1h", "ping")


def test_concurrent_writers_keep_every_job(tmp_path: Path) -> None:
    path = tmp_path / "cron" / "jobs.json"
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_add_jobs, args=(str(path), f"w{n}", 15)) for n in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    names = {job.name for job in JobStore(path).load()}
    assert names == {f"w{n}-{i}" for n in range(3) for i in range(15)}
    assert [p.name for p in path.parent.iterdir() if p.suffix == ".tmp"] == []


@pytest.mark.parametrize(
    "content",
    [
        b'{"jobs": [ {"id": "a", ',
        b'{"jobs": [{"id": "a", "name": "x", "schedule": "0 25 * * *", "prompt": "p"}]}',
        b"[]",
    ],
)
def test_corrupt_file_is_reported_and_left_byte_identical(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "cron" / "jobs.json"
    path.parent.mkdir()
    path.write_bytes(content)
    store = JobStore(path)
    with pytest.raises(CronStoreError, match=re.escape(str(path))):
        store.load()
    with pytest.raises(CronStoreError, match="untouched"):
        store.add("new", "every 1h", "x")
    with pytest.raises(CronStoreError):
        store.remove("a")
    assert path.read_bytes() == content


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("enabled", "yes"),
        ("enabled", "false"),
        ("enabled", 0),
        ("timezone", 5),
        ("last_status", 3),
        ("last_error", ["boom"]),
    ],
)
def test_a_hand_edited_field_of_the_wrong_type_is_named_and_nothing_overwritten(
    tmp_path: Path, field: str, value: object
) -> None:
    path = tmp_path / "cron" / "jobs.json"
    path.parent.mkdir()
    job = {"id": "a", "name": "x", "schedule": "every 1h", "prompt": "p", field: value}
    content = json.dumps({"jobs": [job]}).encode()
    path.write_bytes(content)
    store = JobStore(path)
    with pytest.raises(CronStoreError, match=re.escape(f"jobs[0].{field}:")):
        store.load()
    with pytest.raises(CronStoreError, match="untouched"):
        store.set_enabled("x", True)
    assert path.read_bytes() == content


@pytest.fixture
def cron_cli(openclaw_home: Path):
    def invoke(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "OPENCLAW_HOME": str(openclaw_home), "OPENCLAW_LOAD_PLUGINS": ""}
        return subprocess.run(
            [sys.executable, "-m", "openclaw.cli", "cron", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    return invoke


def test_cli_add_list_disable_enable_remove(cron_cli, openclaw_home: Path) -> None:
    added = cron_cli(
        "add", "Morning", "-s", "0 9 * * *", "-p", "Brief me", "--tz", BERLIN, "--to", "tg:42"
    )
    assert added.returncode == 0, added.stderr
    assert "Morning" in added.stdout
    assert cron_cli("add", "Ping", "-s", "every 30m", "-p", "ping").returncode == 0

    listed = cron_cli("list")
    assert listed.returncode == 0
    assert "Morning" in listed.stdout and "[0 9 * * *] Europe/Berlin" in listed.stdout
    assert "to tg:42" in listed.stdout and "Ping" in listed.stdout

    assert cron_cli("disable", "morn").returncode == 0
    jobs = json.loads((openclaw_home / "cron" / "jobs.json").read_text())["jobs"]
    assert [job["enabled"] for job in jobs] == [False, True]
    assert cron_cli("enable", "MORNING").returncode == 0
    assert cron_cli("remove", "ping").returncode == 0
    jobs = json.loads((openclaw_home / "cron" / "jobs.json").read_text())["jobs"]
    assert [(job["name"], job["enabled"]) for job in jobs] == [("Morning", True)]


def test_cli_errors_are_short_and_write_nothing(cron_cli, openclaw_home: Path) -> None:
    bad = cron_cli("add", "x", "-s", "0 9 * * 8-9", "-p", "p")
    assert bad.returncode == 1
    assert "day-of-week field '8-9'" in bad.stderr and "Traceback" not in bad.stderr
    assert not (openclaw_home / "cron" / "jobs.json").exists()
    assert "No cron jobs." in cron_cli("list").stdout

    path = openclaw_home / "cron" / "jobs.json"
    path.parent.mkdir()
    path.write_text("{not json")
    for args in (("list",), ("add", "y", "-s", "every 1h", "-p", "p"), ("remove", "y")):
        result = cron_cli(*args)
        assert result.returncode == 1
        assert str(path) in result.stderr and "Traceback" not in result.stderr
    assert path.read_text() == "{not json"


def test_cli_run_prints_the_answer_records_it_and_does_not_deliver(
    cron_cli, openclaw_home: Path, openclaw_openai_server
) -> None:
    from openclaw.testing.servers import PLANTED_API_KEY, Reply

    provider = {
        "type": "openai",
        "base_url": openclaw_openai_server.base_url,
        "api_key": PLANTED_API_KEY,
    }
    config = {
        "agent": {"model": "srv/fake", "offline_fallback": False},
        "providers": {"srv": {**provider, "max_retries": 0}},
    }
    (openclaw_home / "openclaw.json").write_text(json.dumps(config))
    assert (
        cron_cli("add", "Brief", "-s", "0 9 * * *", "-p", "Brief me", "--to", "tg:42").returncode
        == 0
    )
    openclaw_openai_server.enqueue("Three meetings today.", Reply.error(400, "no such model"))

    ran = cron_cli("run", "brief")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "Three meetings today.\n"
    assert "not delivered to tg:42" in ran.stderr
    assert openclaw_openai_server.requests[0]["messages"][-1] == {
        "role": "user",
        "content": "Brief me",
    }
    [job] = JobStore(openclaw_home / "cron" / "jobs.json").load()
    assert job.last_status == "ok" and job.last_run is not None and job.last_error is None
    assert job.next_run is not None and (job.next_run.hour, job.next_run.minute) == (9, 0)

    failed = cron_cli("run", "brief")
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert (
        "job 'Brief' failed: the turn failed" in failed.stderr and "no such model" in failed.stderr
    )
    [job] = JobStore(openclaw_home / "cron" / "jobs.json").load()
    # the server's own words are in the log above, the job records the generic reason
    assert job.last_status == "error" and "HTTP 400 (bad request)" in (job.last_error or "")
    assert "no job matches 'nothing'" in cron_cli("run", "nothing").stderr
