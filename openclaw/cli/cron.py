"""`openclaw cron list|add|enable|disable|remove|run`: edits `$OPENCLAW_HOME/cron/jobs.json`
through the same locked store the gateway's executor and the `cron` tool use."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from openclaw.cron import JobStore


def _store() -> JobStore:
    from openclaw.cron import JobStore

    return JobStore()


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


@click.group()
def cron() -> None:
    """Scheduled agent turns, stored in $OPENCLAW_HOME/cron/jobs.json."""


@cron.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_(as_json: bool) -> None:
    """Every job with its state, schedule, next and last run."""
    from openclaw.cron import CronStoreError, describe_all

    try:
        jobs = _store().load()
    except CronStoreError as exc:
        raise _fail(exc) from None
    if as_json:
        from openclaw.cli.common import to_json

        click.echo(to_json({"jobs": [job.to_dict() for job in jobs]}))
        return
    for line in describe_all(jobs):
        click.echo(line)
    if not jobs:
        click.echo("No cron jobs.")


@cron.command()
@click.argument("name")
@click.option(
    "--schedule",
    "-s",
    required=True,
    help="'0 9 * * 1-5' (cron), 'every 30m' / '2h' / '1d', or 'at 2026-12-24T18:00'.",
)
@click.option("--prompt", "-p", required=True, help="The message the agent receives.")
@click.option("--tz", "timezone", default="UTC", show_default=True, help="IANA timezone.")
@click.option("--to", "target", help="Deliver the answer to CHANNEL:CHAT, e.g. telegram:42.")
def add(name: str, schedule: str, prompt: str, timezone: str, target: str | None) -> None:
    """Add a job NAME; the schedule is checked now, not when it is due."""
    from openclaw.cron import CronStoreError, ScheduleError, describe

    where = None
    if target is not None:
        channel, _, chat = target.partition(":")
        if not channel or not chat:
            raise click.BadParameter("expected CHANNEL:CHAT, e.g. telegram:42", param_hint="--to")
        where = {"channel": channel, "chat": chat}
    try:
        job = _store().add(name, schedule, prompt, timezone=timezone, target=where)
    except (ScheduleError, CronStoreError) as exc:
        raise _fail(exc) from None
    click.echo(f"added {describe(job)}")


def _toggle(ref: str, enabled: bool) -> None:
    from openclaw.cron import CronStoreError, describe

    try:
        job = _store().set_enabled(ref, enabled)
    except CronStoreError as exc:
        raise _fail(exc) from None
    click.echo(f"{'enabled' if enabled else 'disabled'} {describe(job)}")


@cron.command()
@click.argument("job")
def enable(job: str) -> None:
    """Enable JOB (id, or a case-insensitive part of its name)."""
    _toggle(job, True)


@cron.command()
@click.argument("job")
def disable(job: str) -> None:
    """Disable JOB (id, or a case-insensitive part of its name)."""
    _toggle(job, False)


@cron.command()
@click.argument("job")
def remove(job: str) -> None:
    """Remove JOB (id, or a case-insensitive part of its name)."""
    from openclaw.cron import CronStoreError

    try:
        removed = _store().remove(job)
    except CronStoreError as exc:
        raise _fail(exc) from None
    click.echo(f"removed {removed.id} {removed.name}")


@cron.command()
@click.argument("job")
@click.pass_context
def run(ctx: click.Context, job: str) -> None:
    """Run JOB once now as an agent turn and print the answer. The run is recorded (last run,
    status, error) but not delivered: delivery needs the gateway's running channels."""
    import asyncio

    from openclaw.cli.common import load, make_app
    from openclaw.cron import CronStoreError, JobStore, jobs_path
    from openclaw.cron_run import run_job

    config = load(ctx)
    config.logging.level = "error"
    store = JobStore(jobs_path(config.home))
    try:
        found = store.find(job)
    except CronStoreError as exc:
        raise _fail(exc) from None
    app = make_app(ctx, config)

    async def once() -> str | None:
        async with app:
            result = await run_job(app.services, store, found, deliver=None, now=store.clock)
        click.echo(result.answer)
        return result.error

    try:
        error = asyncio.run(once())
    except CronStoreError as exc:
        raise _fail(exc) from None
    if error:
        raise click.ClickException(f"job {found.name!r} failed: {error}")
    if found.target:
        where = f"{found.target['channel']}:{found.target['chat']}"
        click.echo(f"(not delivered to {where}: only the gateway delivers)", err=True)
