"""Scheduled jobs: the store `$OPENCLAW_HOME/cron/jobs.json` and the schedule arithmetic.

The file is meant to be edited by hand as well as by the CLI, the `cron` tool and the executor,
so every change is a read-modify-write under an exclusive `fcntl` lock with an atomic replace,
and a file that does not parse is reported and never overwritten. `next_run` is a pure function
of the schedule and a given instant, so the executor and the tests control the clock.
"""

from __future__ import annotations

import fcntl
import json
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from openclaw.json_file import locked, write_atomically
from openclaw.paths import openclaw_home
from openclaw.principal import OWNER, Principal

CRON_FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
EVERY_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
_EVERY = re.compile(r"^every\s+(\d+)\s*([mhd])$", re.IGNORECASE)


class ScheduleError(ValueError):
    """A schedule or timezone that cannot be used; the message names the bad field."""


class CronStoreError(Exception):
    """jobs.json cannot be read or a job cannot be found; the message names the file."""


class JobBusy(CronStoreError):
    """The job is running already, in this process or another; it never runs twice at once."""


def jobs_path(home: Path | None = None) -> Path:
    return (home or openclaw_home()) / "cron" / "jobs.json"


def parse_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            f"timezone: unknown IANA timezone {name!r} (e.g. 'Europe/Berlin', 'UTC')"
        ) from None


def _parse_every(text: str) -> timedelta | None:
    match = _EVERY.match(text.strip())
    if match is None:
        return None
    count = int(match.group(1))
    if count < 1:
        raise ScheduleError(f"schedule: interval in {text!r} must be at least 1")
    return count * EVERY_UNITS[match.group(2).lower()]


def parse_interval(text: str) -> timedelta:
    """`30m`, `2h`, `1d` (or `every 30m`) as a timedelta; ScheduleError otherwise."""
    value = text.strip()
    interval = _parse_every(value if value.lower().startswith("every") else f"every {value}")
    if interval is None:
        raise ScheduleError(f"{text!r} is not an interval; use '<N>m', '<N>h' or '<N>d'")
    return interval


def _parse_at(text: str, tz: tzinfo) -> datetime:
    value = text.strip()[3:].strip()
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ScheduleError(
            f"schedule: {value!r} after 'at' is not an ISO datetime (e.g. 'at 2026-12-24T18:00')"
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=tz)


def _check_cron(expr: str) -> None:
    """Rejects anything but a valid 5-field expression, naming the first bad field."""
    from croniter import CroniterBadDateError, croniter

    fields = expr.split()
    if len(fields) != 5:
        raise ScheduleError(
            f"schedule: {expr!r} has {len(fields)} field(s); a cron schedule has 5 "
            f"({' '.join(CRON_FIELDS)}), or use 'every 30m' / 'at 2026-12-24T18:00'"
        )
    for index, (name, value) in enumerate(zip(CRON_FIELDS, fields, strict=True)):
        probe = ["*"] * 5
        probe[index] = value
        if not croniter.is_valid(" ".join(probe)):
            raise ScheduleError(f"schedule: {name} field {value!r} is not valid in {expr!r}")
    if not croniter.is_valid(expr):
        raise ScheduleError(f"schedule: {expr!r} is not a valid cron expression")
    try:
        croniter(expr, datetime(2000, 1, 1)).get_next(datetime)
    except CroniterBadDateError:
        raise ScheduleError(f"schedule: {expr!r} never matches a date (e.g. 30 February)") from None


def validate_schedule(schedule: str, timezone: str) -> None:
    """Raises ScheduleError for a schedule or timezone the executor could not run."""
    tz = parse_timezone(timezone)
    text = schedule.strip()
    if not text:
        raise ScheduleError("schedule: empty")
    if text.lower().startswith("every"):
        if _parse_every(text) is None:
            raise ScheduleError(
                f"schedule: {text!r} is not an interval; use 'every <N>m', '<N>h' or '<N>d'"
            )
    elif text.lower().startswith("at ") or text.lower() == "at":
        _parse_at(text, tz)
    else:
        _check_cron(text)


def _instants(naive: datetime, tz: tzinfo, both_folds: bool) -> list[datetime]:
    """The real instants of a wall-clock time. A time skipped by a spring-forward gap maps to
    one instant shifted forward by the gap; a time repeated by a fall-back gives its first
    occurrence, and also its second when `both_folds` (jobs that run every hour). Returned in
    UTC: aware datetimes sharing one tzinfo compare by wall time, not by instant."""
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    second = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if first == second:
        return [first]
    if first.astimezone(tz).replace(tzinfo=None) != naive:
        return [first]  # in the gap: fold=0 uses the earlier offset, i.e. shifted forward
    return [first, second] if both_folds else [first]


def _cron_next(expr: str, tz: tzinfo, after: datetime) -> datetime:
    """croniter walks naive wall-clock time; the DST mapping is done here with zoneinfo, so the
    result does not depend on croniter's own DST handling."""
    from croniter import croniter

    both_folds = expr.split()[1] == "*"
    after = after.astimezone(UTC)
    # start a little earlier: a repeated hour puts later instants at earlier wall times
    start = after.astimezone(tz).replace(tzinfo=None) - timedelta(hours=3)
    times = croniter(expr, start)
    best: datetime | None = None
    best_wall = start
    while True:
        wall = times.get_next(datetime)
        if best is not None and wall > best_wall + timedelta(hours=3):
            return best.astimezone(tz)
        for when in _instants(wall, tz, both_folds):
            if when > after and (best is None or when < best):
                best, best_wall = when, wall


def next_run(
    schedule: str, timezone: str, after: datetime, anchor: datetime | None = None
) -> datetime | None:
    """The first instant strictly after `after` (an aware datetime) at which the schedule fires,
    or None when a one-shot `at` time has passed. `every` counts real elapsed time from
    `anchor` (default: `after`), so a DST change does not stretch or shrink an interval."""
    if after.tzinfo is None:
        raise ValueError("next_run needs an aware datetime")
    validate_schedule(schedule, timezone)
    tz = parse_timezone(timezone)
    text = schedule.strip()
    interval = _parse_every(text)
    if interval is not None:
        base = (anchor or after).astimezone(UTC)
        after = after.astimezone(UTC)
        if base > after:
            return base.astimezone(tz)
        steps = (after - base) // interval + 1
        return (base + steps * interval).astimezone(tz)
    if text.lower().startswith("at"):
        when = _parse_at(text, tz)
        return when if when.astimezone(UTC) > after.astimezone(UTC) else None
    return _cron_next(text, tz, after)


@dataclass
class Job:
    """One scheduled agent turn. `target` is {"channel": ..., "chat": ...} or None (no
    delivery); `owner` the chat user who added it (its turns act for them, and run only while
    they may use the agent), None for the owner's jobs; times are aware datetimes, stored as
    ISO strings."""

    name: str
    schedule: str
    prompt: str
    timezone: str = "UTC"
    target: dict[str, str] | None = None
    enabled: bool = True
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    last_run: datetime | None = None
    last_status: str | None = None
    next_run: datetime | None = None
    last_error: str | None = None
    owner: Principal | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "schedule": self.schedule,
            "timezone": self.timezone,
            "prompt": self.prompt,
            "target": self.target,
            "enabled": self.enabled,
            "last_run": _iso(self.last_run),
            "last_status": self.last_status,
            "next_run": _iso(self.next_run),
            "last_error": self.last_error,
            "owner": self.owner.to_dict() if self.owner else None,
        }

    @classmethod
    def from_dict(cls, data: Any, where: str) -> Job:
        """Parses one entry of the file; `where` names it in errors."""
        if not isinstance(data, dict):
            raise CronStoreError(f"{where}: expected an object")
        for key in ("id", "name", "schedule", "prompt"):
            if not isinstance(data.get(key), str) or not data[key]:
                raise CronStoreError(f"{where}.{key}: required, a non-empty string")
        target = data.get("target")
        if target is not None and not (
            isinstance(target, dict)
            and all(isinstance(target.get(k), str) and target[k] for k in ("channel", "chat"))
        ):
            raise CronStoreError(f"{where}.target: expected null or {{channel, chat}} strings")
        owner = Principal.from_dict(data.get("owner"))
        if data.get("owner") is not None and owner is None:
            raise CronStoreError(f"{where}.owner: expected null or {{channel, user}} strings")
        if not isinstance(data.get("enabled", True), bool):
            raise CronStoreError(f"{where}.enabled: expected true or false")
        for key in ("timezone", "last_status", "last_error"):
            if data.get(key) is not None and not isinstance(data[key], str):
                raise CronStoreError(f"{where}.{key}: expected a string or null")
        timezone = data.get("timezone") or "UTC"
        try:
            validate_schedule(data["schedule"], timezone)
        except ScheduleError as exc:
            raise CronStoreError(f"{where}.{exc}") from None
        return cls(
            id=data["id"],
            name=data["name"],
            schedule=data["schedule"],
            timezone=timezone,
            prompt=data["prompt"],
            target=target,
            enabled=data.get("enabled", True),
            last_run=_parse_time(data.get("last_run"), f"{where}.last_run"),
            last_status=data.get("last_status"),
            next_run=_parse_time(data.get("next_run"), f"{where}.next_run"),
            last_error=data.get("last_error"),
            owner=owner,
        )


def job_session_key(agent: str, job: Job) -> str:
    """Each job's turns share one session, shaped like `InboundMessage.session_key`."""
    return f"cron:{agent}:{job.id}:{job.id}"


def owned(job: Job, principal: Principal) -> bool:
    """Whether `principal` may see and change `job`: the owner every job, a chat user the
    jobs they added."""
    return principal.is_owner or (job.owner is not None and job.owner.same_user(principal))


def following_run(job: Job, now: datetime) -> datetime | None:
    """When a job that is due at `now` runs next: `every` keeps its phase (anchored to the
    due time), and runs missed while nothing was running collapse into the one at `now`."""
    return next_run(job.schedule, job.timezone, now, anchor=job.next_run)


def describe(job: Job) -> str:
    """One line for listings (CLI, `/cron`, the `cron` tool)."""
    state = "on " if job.enabled else "off"
    target = f"{job.target['channel']}:{job.target['chat']}" if job.target else "-"
    nxt = job.next_run.isoformat(timespec="minutes") if job.next_run and job.enabled else "-"
    last = job.last_run.isoformat(timespec="minutes") if job.last_run else "-"
    status = job.last_status or "-"
    owner = f"  for {job.owner}" if job.owner else ""
    return (
        f"{job.id}  {state}  {job.name}  [{job.schedule}] {job.timezone}  to {target}  "
        f"next {nxt}  last {last} ({status}){owner}"
    )


def describe_all(jobs: list[Job]) -> list[str]:
    """The listing's lines: `describe` for each job, and its last error under it."""
    lines = []
    for job in jobs:
        lines.append(describe(job))
        if job.last_error:
            lines.append(f"    last error: {job.last_error}")
    return lines


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


def _parse_time(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise CronStoreError(f"{where}: not an ISO datetime: {value!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


class JobStore:
    """jobs.json with a lock file beside it; `clock` gives the current aware time."""

    def __init__(self, path: Path | None = None, clock: Callable[[], datetime] | None = None):
        self.path = path or jobs_path()
        self.clock = clock or (lambda: datetime.now(UTC))

    def load(self) -> list[Job]:
        """The jobs as on disk (writes are atomic replaces, so no lock is needed to read)."""
        if not self.path.exists():
            return []
        raw = self.path.read_text(encoding="utf-8")
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise CronStoreError(
                f"{self.path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
                "the file was left untouched, fix or remove it"
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get("jobs"), list):
            raise CronStoreError(f'{self.path}: expected {{"jobs": [...]}}; left untouched')
        try:
            return [Job.from_dict(item, f"jobs[{i}]") for i, item in enumerate(data["jobs"])]
        except CronStoreError as exc:
            raise CronStoreError(f"{self.path}: {exc}; left untouched") from None

    def find(self, ref: str, principal: Principal = OWNER) -> Job:
        """The job `ref` names among those `principal` may see (see `find_job`), as on disk."""
        return find_job(self.load(), ref, self.path, principal)

    @contextmanager
    def edit(self) -> Iterator[list[Job]]:
        """Read-modify-write under an exclusive lock; the list is written back only if the
        block finishes without an exception."""
        with locked(self.path):
            jobs = self.load()
            yield jobs
            self._write(jobs)

    def _write(self, jobs: list[Job]) -> None:
        text = json.dumps({"jobs": [job.to_dict() for job in jobs]}, indent=2) + "\n"
        write_atomically(self.path, text)

    def add(
        self,
        name: str,
        schedule: str,
        prompt: str,
        timezone: str = "UTC",
        target: dict[str, str] | None = None,
        owner: Principal | None = None,
    ) -> Job:
        """Validates and stores a new job with its first next_run; names are unique."""
        validate_schedule(schedule, timezone)
        if not name.strip():
            raise ScheduleError("name: empty")
        if not prompt.strip():
            raise ScheduleError("prompt: empty")
        now = self.clock()
        first = next_run(schedule, timezone, now)
        if first is None:
            raise ScheduleError(f"schedule: {schedule!r} is in the past")
        job = Job(
            name=name,
            schedule=schedule,
            prompt=prompt,
            timezone=timezone,
            target=target,
            owner=None if owner is None or owner.is_owner else owner,
        )
        job.next_run = first
        with self.edit() as jobs:
            if any(other.name.lower() == name.lower() for other in jobs):
                raise ScheduleError(f"name: a job named {name!r} already exists")
            jobs.append(job)
        return job

    def set_enabled(self, ref: str, enabled: bool, principal: Principal = OWNER) -> Job:
        """Enabling recomputes next_run from now, so a long-disabled job does not fire at once.
        `ref` names one of the jobs `principal` may see."""
        with self.edit() as jobs:
            job = find_job(jobs, ref, self.path, principal)
            job.enabled = enabled
            if enabled:
                job.next_run = next_run(job.schedule, job.timezone, self.clock())
        return job

    def remove(self, ref: str, principal: Principal = OWNER) -> Job:
        with self.edit() as jobs:
            job = find_job(jobs, ref, self.path, principal)
            jobs.remove(job)
        return job

    def disable_owned_by(self, user: Principal, reason: str) -> list[Job]:
        """Disable every enabled job `user` added (their access was revoked), with `reason`
        as the job's last error; returns them."""
        disabled = []
        with self.edit() as jobs:
            for job in jobs:
                if job.enabled and job.owner is not None and job.owner.same_user(user):
                    job.enabled, job.last_status, job.last_error = False, "error", reason
                    disabled.append(job)
        return disabled

    def schedule_new(self, now: datetime) -> list[Job]:
        """Give enabled jobs written by hand without `next_run` their first one; a one-shot
        whose time has already passed is disabled with the reason, rather than run late.
        Returns the jobs as written."""
        with self.edit() as jobs:
            for job in jobs:
                if job.enabled and job.next_run is None and job.last_run is None:
                    job.next_run = next_run(job.schedule, job.timezone, now)
                    if job.next_run is None:
                        job.enabled, job.last_status = False, "error"
                        job.last_error = "its time had passed when the job was first read"
        return jobs

    def claim(self, job_id: str, now: datetime) -> Job | None:
        """Move a due job's next_run past `now` before it runs, so that a crash mid-run does
        not make it run again and again; None when it was removed, disabled or is not due."""
        with self.edit() as jobs:
            job = next((j for j in jobs if j.id == job_id), None)
            if job is None or not job.enabled or job.next_run is None or job.next_run > now:
                return None
            job.next_run = following_run(job, now)
        return job

    def record(self, job_id: str, started: datetime, error: str | None) -> None:
        """Store a run's outcome; a job removed meanwhile is left removed."""
        with self.edit() as jobs:
            for job in jobs:
                if job.id == job_id:
                    job.last_run = started
                    job.last_status = "error" if error else "ok"
                    job.last_error = error

    @contextmanager
    def running(self, job_id: str) -> Iterator[None]:
        """Hold the job's run lock (`run/<id>.lock` beside jobs.json) for the whole run; raises
        JobBusy when the executor, the CLI or the tool is running it already."""
        folder = self.path.parent / "run"
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"{job_id}.lock", "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise JobBusy(f"job {job_id} is running already") from None
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def find_job(jobs: list[Job], ref: str, path: Path, principal: Principal = OWNER) -> Job:
    """By id, exact name, or a case-insensitive partial name that matches one job only, among
    the jobs `principal` may see (another user's jobs are not there for them)."""
    jobs = [job for job in jobs if owned(job, principal)]
    needle = ref.lower()
    for job in jobs:
        if job.id == ref or job.name.lower() == needle:
            return job
    matches = [job for job in jobs if needle in job.name.lower()]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise CronStoreError(f"{path}: no job matches {ref!r}")
    names = ", ".join(job.name for job in matches)
    raise CronStoreError(f"{ref!r} matches several jobs: {names}")
