"""`openclaw gateway` (run the channels and the HTTP endpoints) and `openclaw pairing`."""

from __future__ import annotations

import asyncio
import signal
import time
from typing import TYPE_CHECKING

import click

from openclaw.cli.common import load, make_app

if TYPE_CHECKING:
    from openclaw.app import App
    from openclaw.gateway.pipeline import PairingStore


@click.group(invoke_without_command=True)
@click.option("--host", help="Address to listen on (default: gateway.host, 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default: gateway.port, 3100).")
@click.pass_context
def gateway(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Run the enabled channels, the cron jobs and the HTTP endpoints until SIGINT or SIGTERM.

    Serves /health, /status, /metrics (Prometheus) and /metrics/json. Due jobs of
    `openclaw cron` (and the heartbeat, when enabled) run as agent turns whose answers go to
    their target chat. On a signal, running turns are drained (up to 30 s) before the channels
    and the store are closed. `openclaw gateway status` asks a running gateway how it is.
    """
    if ctx.invoked_subcommand is None:
        run_gateway(ctx, host, port)


@gateway.command()
@click.option("--host", help="The gateway's address (default: gateway.host).")
@click.option("--port", type=int, help="The gateway's port (default: gateway.port).")
@click.option("--json", "as_json", is_flag=True, help="Print /status as it came (JSON).")
@click.pass_context
def status(ctx: click.Context, host: str | None, port: int | None, as_json: bool) -> None:
    """Ask a running gateway for its /status: uptime, channels, sessions, turns, cron.

    Exit 1 when no gateway answers there."""
    import json
    import urllib.error
    import urllib.request

    config = load(ctx)
    url = f"http://{host or config.gateway.host}:{port or config.gateway.port}/status"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            data = json.load(response)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise click.ClickException(f"no gateway answers at {url} ({reason})") from None
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(f"gateway {url.removesuffix('/status')}: up {data['uptime']['human']}")
    click.echo(f"  version {data['version']}, model {data['agent']['model']}")
    for name, channel in sorted(data["channels"].items()):
        error = f", last error: {channel['last_error']}" if channel["last_error"] else ""
        click.echo(f"  channel {name}: {channel['state']} ({channel['restarts']} restarts{error})")
    sessions = data["sessions"]
    click.echo(f"  sessions: {sessions['total']} ({sessions['messages']} messages)")
    click.echo(f"  turns running: {data['turns_running']}")
    for problem in data["problems"]:
        click.echo(f"  warning: {problem}")


def run_gateway(ctx: click.Context, host: str | None, port: int | None) -> None:
    from openclaw.config import ConfigError

    app = make_app(ctx)
    try:
        for warning in app.validate_sections():
            click.echo(f"warning: {warning}", err=True)
        asyncio.run(_serve(app, host, port))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


async def _serve(app: App, host: str | None, port: int | None) -> None:
    from openclaw.gateway import Gateway

    server = Gateway(app, host=host, port=port, freeze_heap=True)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, server.request_stop)
    running = asyncio.create_task(server.run())
    ready = asyncio.create_task(server.ready.wait())
    await asyncio.wait({running, ready}, return_when=asyncio.FIRST_COMPLETED)
    if ready.done():
        channels = ", ".join(server.channels) or "no channels"
        click.echo(
            f"openclaw gateway on http://{server.host}:{server.port} ({channels}); Ctrl-C to stop",
            err=True,
        )
    else:
        ready.cancel()
    await running
    click.echo("gateway stopped", err=True)


def _store(ctx: click.Context) -> PairingStore:
    from openclaw.gateway.pipeline import PAIRING_FILE, PairingStore

    return PairingStore(load(ctx).home / PAIRING_FILE)


@click.group()
def pairing() -> None:
    """Approve or revoke users who asked to talk to the agent (channels with "pairing": true).

    An unknown user who writes to the bot gets a one-time code; approve it here, even while
    the gateway runs: their next message is answered.
    """


@pairing.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def list_(ctx: click.Context, as_json: bool) -> None:
    """Pending codes and approved users."""
    store = _store(ctx)
    pending = store.pending()
    approved = store.approved()
    if as_json:
        from openclaw.cli.common import to_json

        click.echo(to_json({"pending": pending, "approved": approved}))
        return
    for request in pending:
        when = time.strftime("%H:%M", time.localtime(request.created_at))
        click.echo(
            f"pending  {request.code}  {request.channel} user {request.user_id} "
            f"(chat {request.chat_id}, asked at {when})"
        )
    for channel, users in sorted(approved.items()):
        for user in users:
            click.echo(f"approved {channel} user {user}")
    if not pending and not approved:
        click.echo("No pairing requests and no paired users.")


@pairing.command()
@click.argument("args", nargs=-1, required=True, metavar="[CHANNEL] CODE")
@click.pass_context
def approve(ctx: click.Context, args: tuple[str, ...]) -> None:
    """Approve the user who was given CODE; with CHANNEL (as in `pairing approve telegram
    CODE`), only a code issued on that channel."""
    from openclaw.gateway.pipeline import PairingError

    if len(args) > 2:
        raise click.UsageError("expected [CHANNEL] CODE")
    channel, code = (None, args[0]) if len(args) == 1 else args
    try:
        request = _store(ctx).approve(code, channel=channel)
    except PairingError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"approved {request.channel} user {request.user_id}")


@pairing.command()
@click.argument("user")
@click.option("--channel", help="Only on this channel (default: every channel).")
@click.pass_context
def revoke(ctx: click.Context, user: str, channel: str | None) -> None:
    """Remove USER (a user id) from the approved users, and disable the cron jobs they added."""
    from openclaw.cron import CronStoreError, JobStore, jobs_path
    from openclaw.gateway.pipeline import PairingError
    from openclaw.principal import Principal

    try:
        removed = _store(ctx).revoke(user, channel)
    except PairingError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"revoked user {user} on {', '.join(removed)}")
    jobs = JobStore(jobs_path(load(ctx).home))
    try:
        for name in removed:
            reason = f"disabled: {name} user {user} was revoked"
            for job in jobs.disable_owned_by(Principal(name, user), reason):
                click.echo(f"disabled cron job {job.name!r} ({job.id})")
    except CronStoreError as exc:
        raise click.ClickException(f"their cron jobs could not be disabled: {exc}") from None
