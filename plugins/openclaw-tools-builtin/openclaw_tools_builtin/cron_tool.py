"""The `cron` tool: lets the agent list, add, enable, disable, remove and run scheduled jobs.

It edits `$OPENCLAW_HOME/cron/jobs.json` through the kernel's locked store, like the CLI, so
the two never clobber each other. Inside the gateway it wakes the executor after a change and
`run` hands the job to the executor (which delivers the answer); elsewhere `run` runs the job's
turn inline and returns its answer, undelivered. A chat user's agent sees and changes only the
jobs that user added (a job added from a chat belongs to its user); the owner's sees all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from openclaw.tools import Tool, ToolCallContext, ToolError, tool

if TYPE_CHECKING:
    from openclaw.cron import Job, JobStore
    from openclaw.principal import Principal
    from openclaw.sandbox import SandboxPolicy
    from openclaw.services import CronControl, Services
    from openclaw.tools import ToolContext

Action = Literal["list", "add", "enable", "disable", "remove", "run"]


class CronArguments(BaseModel):
    action: Action = Field(
        description="list: this user's jobs with their schedule and last run; add: a new job; "
        "enable / disable / remove / run (once, now): the job named by `job`."
    )
    job: str | None = Field(
        None, description="enable/disable/remove/run: the job's id or a unique part of its name."
    )
    name: str | None = Field(None, description="add: a unique name for the job.")
    schedule: str | None = Field(
        None,
        description="add: a 5-field cron expression ('0 9 * * 1-5'), an interval "
        "('every 30m', 'every 2h', 'every 1d') or a one-shot time ('at 2026-12-24T18:00').",
    )
    prompt: str | None = Field(None, description="add: the message the agent receives each run.")
    timezone: str = Field("UTC", description="add: IANA timezone of the schedule.")
    target: str | None = Field(
        None,
        description="add: where the answer goes: 'here' (this conversation; inside the gateway "
        "the only chat allowed), 'CHANNEL:CHAT' (e.g. 'telegram:42') outside the gateway, or "
        "nothing to keep it in the job's session.",
    )


def _target(text: str | None, executor: CronControl | None, session_key: str) -> dict[str, str]:
    """The job's target. Inside the gateway the tool acts for the person in this conversation,
    so it may deliver only here: other targets are the owner's to set (`openclaw cron add
    --to`), else anyone allowed to chat could make the agent message any chat."""
    if text is None or not text.strip():
        return {}
    here = executor.target_for(session_key) if executor is not None else None
    if text.strip().lower() == "here":
        if here is None:
            raise ToolError(
                "'here' needs a conversation on a channel of the running gateway; "
                "give CHANNEL:CHAT instead"
            )
        return here
    channel, _, chat = text.strip().partition(":")
    if not channel or not chat:
        raise ToolError(f"target {text!r}: expected 'here' or CHANNEL:CHAT, e.g. 'telegram:42'")
    wanted = {"channel": channel, "chat": chat}
    if executor is not None and wanted != here:
        raise ToolError(
            f"target {text!r}: a job added from a chat may deliver only to this conversation "
            "(target 'here'); other targets are set by the owner with "
            "`openclaw cron add --to CHANNEL:CHAT`"
        )
    return wanted


def _list(store: JobStore, principal: Principal) -> str:
    from openclaw.cron import describe_all, owned

    jobs = [job for job in store.load() if owned(job, principal)]
    if not jobs:
        return "No cron jobs."
    header = f"{len(jobs)} job(s): id, on/off, name, [schedule] timezone, target, next, last:"
    return "\n".join([header, *describe_all(jobs)])


async def _run(services: Services, store: JobStore, job: Job) -> str:
    from openclaw.cron import describe
    from openclaw.cron_run import run_job

    executor = services.cron
    if executor is not None:
        if not executor.trigger(job):
            raise ToolError(f"job {job.name!r} is running already")
        where = f" to {job.target['channel']}:{job.target['chat']}" if job.target else ""
        return f"Started {job.name!r}; the executor delivers its answer{where} when it is done."
    result = await run_job(services, store, job, deliver=None, now=store.clock)
    if result.error:
        raise ToolError(f"job {job.name!r} failed: {result.error}")
    return f"Ran {describe(job)}\nAnswer (not delivered outside the gateway):\n{result.answer}"


def _cron_tool() -> Tool:
    async def cron(
        action: Action,
        job: str | None,
        name: str | None,
        schedule: str | None,
        prompt: str | None,
        timezone: str,
        target: str | None,
        context: ToolCallContext,
    ) -> str:
        """Manage scheduled jobs (agent turns run on a schedule, answers delivered to a
        chat): list, add, enable, disable, remove, or run one now."""
        from openclaw.cron import (
            CronStoreError,
            JobStore,
            ScheduleError,
            describe,
            jobs_path,
        )

        services = context.services
        store = JobStore(jobs_path(services.config.home))
        executor = services.cron
        principal = context.principal
        try:
            if action == "list":
                return _list(store, principal)
            if action == "add":
                if not (name and schedule and prompt):
                    raise ToolError("add needs `name`, `schedule` and `prompt`")
                where = _target(target, executor, context.session_key) or None
                added = store.add(
                    name, schedule, prompt, timezone=timezone, target=where, owner=principal
                )
                changed = f"Added {describe(added)}"
            else:
                if not job:
                    raise ToolError(f"{action} needs `job`: an id or a part of the job's name")
                if action == "run":
                    return await _run(services, store, store.find(job, principal))
                if action == "remove":
                    changed = f"Removed {describe(store.remove(job, principal))}"
                else:
                    toggled = store.set_enabled(job, action == "enable", principal)
                    changed = f"{action.capitalize()}d {describe(toggled)}"
        except (ScheduleError, CronStoreError) as exc:
            raise ToolError(str(exc)) from None
        if executor is not None:
            executor.wake()
        return changed

    return tool(cron, arguments=CronArguments)


def make_tools(policy: SandboxPolicy, context: ToolContext) -> list[Tool]:
    return [_cron_tool()]
