"""The cron executor: runs due jobs from `cron/jobs.json` (and the heartbeat) as agent turns,
each job in its own session, and delivers the answers through the target channel.

It sleeps until the next job is due, but never longer than `tick` (30 s), so jobs added or
edited by hand or by the CLI are seen within that time; the `cron` tool and `/cron` wake it at
once. A due job is claimed first (its next_run moved past now, under the store's lock), so runs
missed while the gateway was down run once, and a crash mid-run does not repeat it. A job holds
its run lock while it runs, so it never runs twice at once, even with `openclaw cron run` in
another process. One job's failure is recorded on that job and stops nothing else.

A job a chat user added runs for that user, and only while they may still use the agent: the
executor asks `allowed` (the gateway's access check) before the turn and again before the
delivery, every run; a job whose user was revoked or removed from the allowlist is skipped,
logged and recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from openclaw.cron import CronStoreError, Job, JobBusy, JobStore, jobs_path
from openclaw.cron_run import Allowed, Deliver, DeliveryError, run_job
from openclaw.events import TurnError
from openclaw.gateway.heartbeat import Heartbeat, in_active_hours, is_ok
from openclaw.gateway.streaming import send_reply
from openclaw.principal import Principal

if TYPE_CHECKING:
    from openclaw.gateway.supervisor import Supervised
    from openclaw.services import Services

log = logging.getLogger("openclaw.cron")

TICK = 30.0
"""The longest the executor sleeps before it looks at jobs.json again, in seconds."""
HEARTBEAT = "heartbeat"  # the heartbeat's task name; job ids are hex, so they never clash
HEARTBEAT_PRINCIPAL = Principal("cron", HEARTBEAT, "cron")
"""Who the heartbeat's turns act for: nobody's sessions, jobs or processes but its own, since
any user's agent can edit HEARTBEAT.md in the shared workspace."""


class Clock(Protocol):
    """The executor's time: tests pass one they move by hand instead of sleeping."""

    def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class CronExecutor:
    """Runs the jobs of one `$OPENCLAW_HOME` with an App's services; while it runs it is
    `services.cron`, which the `cron` tool and `/cron` use to wake or trigger it. Answers go
    out through the gateway's running `channels`, or through `deliver` when given; with
    neither they stay in the job's session. `allowed` is asked before each run of a job a
    chat user added."""

    def __init__(
        self,
        services: Services,
        *,
        channels: Mapping[str, Supervised] | None = None,
        deliver: Deliver | None = None,
        clock: Clock | None = None,
        store: JobStore | None = None,
        tick: float = TICK,
        allowed: Allowed | None = None,
    ) -> None:
        self.services = services
        self.allowed = allowed
        self.channels: Mapping[str, Supervised] = channels if channels is not None else {}
        self.deliver = deliver or (channel_delivery(channels) if channels is not None else None)
        self.clock: Clock = clock or SystemClock()
        self.store = store or JobStore(
            jobs_path(services.config.home), clock=lambda: self.clock.now()
        )
        self.tick = tick
        self.heartbeat: Heartbeat | None = None
        self.problem: str | None = None  # why jobs.json cannot be used, while it cannot
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Run the loop in a task of its own until `stop`."""
        config = self.services.config
        if config.heartbeat.enabled:
            self.heartbeat = Heartbeat.starting(
                config.heartbeat, config.workspace, self.clock.now()
            )
        self.services.cron = self
        self._loop = asyncio.create_task(self.run())

    async def stop(self, timeout: float = 30.0) -> None:
        """Stop the loop, give running jobs `timeout` seconds to finish, cancel the rest."""
        if self.services.cron is self:
            self.services.cron = None
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
            self._loop = None
        running = set(self._tasks.values())
        if running:
            _, pending = await asyncio.wait(running, timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=5)

    def wake(self) -> None:
        """Look at jobs.json now (after an edit) instead of at the next tick."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            now = self.clock.now()
            try:
                due = self.run_due(now)
            except Exception:  # a bug must not stop scheduling for the gateway's lifetime
                log.exception("cron: checking for due jobs failed; trying again in %gs", self.tick)
                due = None
            delay = self.tick if due is None else (due - now).total_seconds()
            await self._sleep(min(max(delay, 0.0), self.tick))

    async def _sleep(self, seconds: float) -> None:
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waker):
                task.cancel()

    # -- one pass -----------------------------------------------------------------------------

    def run_due(self, now: datetime) -> datetime | None:
        """Start every job (and the heartbeat) due at `now`; returns when the next one is due.
        A jobs.json that cannot be read is reported and left as it is."""
        upcoming: list[datetime] = []
        beat = self.heartbeat
        if beat is not None:
            if beat.next_due <= now:
                beat.advance(now)  # a beat still running when the next is due skips that one
                if HEARTBEAT not in self._tasks:
                    self._spawn(HEARTBEAT, self._beat(beat, now))
            upcoming.append(beat.next_due)
        try:
            jobs = self.store.load()
            if any(j.enabled and j.next_run is None and j.last_run is None for j in jobs):
                jobs = self.store.schedule_new(now)
            for job in jobs:
                if not job.enabled or job.next_run is None:
                    continue
                if job.next_run > now:
                    upcoming.append(job.next_run)
                elif job.id not in self._tasks:
                    claimed = self.store.claim(job.id, now)
                    if claimed is not None:
                        self._spawn(job.id, self._execute(claimed))
                        if claimed.next_run is not None:
                            upcoming.append(claimed.next_run)
        except CronStoreError as exc:
            self._report(str(exc))
        else:
            self.problem = None
        return min(upcoming, default=None)

    def target_for(self, session_key: str) -> dict[str, str] | None:
        """The target that answers into the conversation of `session_key` (a running
        channel's prefix and the key's chat), for "deliver it here"."""
        prefix, chat = session_key.split(":", 1)[0], session_key.rsplit(":", 1)[-1]
        for name, supervised in self.channels.items():
            if supervised.channel.prefix == prefix:
                return {"channel": name, "chat": chat}
        return None

    def trigger(self, job: Job) -> bool:
        """Run `job` now, outside its schedule (the `cron` tool's `run`); False when this
        executor is running it already."""
        if job.id in self._tasks:
            return False
        self._spawn(job.id, self._execute(job))
        return True

    async def idle(self) -> None:
        """Wait until no job or heartbeat is running (tests, and `stop`)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks.values()))

    def _spawn(self, name: str, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks[name] = task

        def done(_: asyncio.Task[None]) -> None:
            if self._tasks.get(name) is task:
                del self._tasks[name]
            self._wake.set()  # a job that was skipped while it ran may be due now

        task.add_done_callback(done)

    def _report(self, problem: str) -> None:
        if problem != self.problem:
            log.error("cron: %s", problem)
        self.problem = problem

    async def _execute(self, job: Job) -> None:
        try:
            result = await run_job(
                self.services,
                self.store,
                job,
                deliver=self.deliver,
                now=self.clock.now,
                allowed=self.allowed,
            )
        except JobBusy:
            log.info("cron job %s is running elsewhere; this run is skipped", job.name)
        except CronStoreError as exc:
            self._report(f"recording the run of {job.name!r} failed: {exc}")
        except Exception:  # e.g. the run lock's folder is not writable: the loop goes on
            log.exception("cron job %s could not run", job.name)
        else:
            if result.error:
                log.warning("cron job %s: %s", job.name, result.error)
            else:
                log.info("cron job %s ran", job.name)

    async def _beat(self, beat: Heartbeat, now: datetime) -> None:
        """One heartbeat: skipped outside the active hours or without a checklist; silent
        when the answer is HEARTBEAT_OK; otherwise delivered to its target."""
        config = beat.config
        if not in_active_hours(now, config.active_hours, config.timezone):
            beat.last_status = "skipped: outside the active hours"
            return
        try:
            message = beat.message()
        except (OSError, UnicodeDecodeError) as exc:
            beat.last_status, beat.last_error = "error", f"cannot read HEARTBEAT.md: {exc}"
            log.warning("heartbeat failed: %s", beat.last_error)
            return
        if message is None:
            beat.last_status = "skipped: HEARTBEAT.md is missing or empty"
            return
        beat.last_run, beat.last_error = now, None
        key = f"cron:{self.services.config.agent.name}:{HEARTBEAT}:{HEARTBEAT}"
        try:
            turn = self.services.turns.ask(message, session_key=key, principal=HEARTBEAT_PRINCIPAL)
            answer = (await turn).text
            if is_ok(answer):
                beat.last_status = "ok (nothing to report)"
            elif config.target is not None and self.deliver is not None:
                await self.deliver(config.target.model_dump(), answer)
                beat.last_status = "delivered"
            else:
                beat.last_status = "ok (no target)"
        except (TurnError, DeliveryError) as exc:
            beat.last_status, beat.last_error = "error", str(exc)
            log.warning("heartbeat failed: %s", exc)

    # -- status -------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """For the gateway's `/status`: counts, what runs, what failed, the next due time."""
        try:
            jobs = self.store.load()
        except CronStoreError:
            jobs = []
        enabled = [job for job in jobs if job.enabled]
        upcoming = [job.next_run for job in enabled if job.next_run is not None]
        return {
            "jobs": len(jobs),
            "enabled": len(enabled),
            "running": sorted(self._tasks),
            "next_run": min(upcoming).astimezone(UTC).isoformat() if upcoming else None,
            "failing": sorted(job.name for job in jobs if job.last_status == "error"),
            "error": self.problem,
            "heartbeat": self.heartbeat.status() if self.heartbeat else {"enabled": False},
        }


def channel_delivery(channels: Mapping[str, Supervised]) -> Deliver:
    """Delivery through the gateway's running channels (`gateway.channels`), with the
    kernel's `send_reply` (chunking, markdown with plain-text fallback)."""

    async def deliver(target: Mapping[str, str], text: str) -> None:
        name, chat = target["channel"], target["chat"]
        supervised = channels.get(name)
        if supervised is None:
            running = ", ".join(sorted(channels)) or "none"
            raise DeliveryError(f"channel {name!r} is not running (running: {running})")
        if not text.strip():  # send_reply would send nothing, and the run would look fine
            raise DeliveryError(f"the answer was empty; nothing was sent to {name}:{chat}")
        # tried in any state: sending may work
        failed = await send_reply(supervised.channel, chat, text)
        if failed:
            raise DeliveryError(f"sending to {name}:{chat} failed: {'; '.join(failed)}")

    return deliver
