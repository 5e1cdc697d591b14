"""Running one cron job as an agent turn in its own session, for the user who added it, and
recording how it went: the gateway's scheduler, the `cron` tool's `run` and `openclaw cron run`
all run a job this way."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from openclaw.cron import CronStoreError, Job, JobStore, job_session_key
from openclaw.events import TurnError
from openclaw.principal import OWNER, Principal

if TYPE_CHECKING:
    from openclaw.services import Services

log = logging.getLogger("openclaw.cron")

Deliver = Callable[[Mapping[str, str], str], Awaitable[None]]
"""Sends a text to a target `{"channel": ..., "chat": ...}`; raises DeliveryError."""
Allowed = Callable[[Principal], bool]
"""Whether a user may use the agent now (listed in the channel's allowlist, or paired)."""


class DeliveryError(Exception):
    """An answer could not be delivered: the channel is not running or refused it."""


@dataclass(frozen=True, slots=True)
class JobRun:
    """How one run went: the answer, or why there is none."""

    answer: str
    error: str | None


async def run_job(
    services: Services,
    store: JobStore,
    job: Job,
    *,
    deliver: Deliver | None,
    now: Callable[[], datetime],
    allowed: Allowed | None = None,
) -> JobRun:
    """Run `job` once as a turn in its session (acting for the job's user), deliver the answer
    when `deliver` is given and the job has a target, and record the outcome. With `allowed`,
    a job whose user may no longer use the agent is skipped, before the turn or before the
    delivery. Raises JobBusy when it is running already."""
    with store.running(job.id):
        started = now()
        answer, error = "", None
        try:
            refused = _refusal(job, allowed)
            if refused is not None:  # logged by the caller, as every error of a run
                store.record(job.id, started, refused)
                return JobRun("", refused)
            key = job_session_key(services.config.agent.name, job)
            principal = job.owner or OWNER
            turn = services.turns.ask(job.prompt, session_key=key, principal=principal)
            answer = (await turn).text
            if job.target is not None and deliver is not None:
                refused = _refusal(job, allowed)
                if refused is not None:
                    raise DeliveryError(f"not delivered: {refused}")
                await deliver(job.target, answer)
        except TurnError as exc:
            error = f"the turn failed: {exc}"
        except DeliveryError as exc:
            error = str(exc)
        except asyncio.CancelledError:
            with contextlib.suppress(CronStoreError):
                store.record(job.id, started, "interrupted: stopped during the run")
            raise
        except Exception as exc:
            log.exception("cron job %s failed", job.name)
            error = f"{type(exc).__name__}: {exc}"
        store.record(job.id, started, error)
    return JobRun(answer, error)


def _refusal(job: Job, allowed: Allowed | None) -> str | None:
    """Why `job` may not run for its user now, or None when it may."""
    if job.owner is None or allowed is None or allowed(job.owner):
        return None
    return f"skipped: {job.owner} may no longer use the agent (revoked or not allowed)"
