"""The core slash commands, one implementation for every channel."""

from __future__ import annotations

import time
from typing import Any

from openclaw.commands import Command, CommandContext, CommandReply
from openclaw.hookspecs import hookimpl
from openclaw.providers import split_ref


def _session_model(ctx: CommandContext) -> str:
    session = ctx.services.store.session(ctx.session_key)
    default = ctx.services.config.agent.model
    return (session.model if session and session.model else None) or default


async def help_command(ctx: CommandContext) -> str:
    lines = ["Commands:"]
    for name, command in sorted(ctx.commands.items()):
        usage = f" {command.usage}" if command.usage else ""
        lines.append(f"/{name}{usage} — {command.description}")
    return "\n".join(lines)


async def start_command(ctx: CommandContext) -> str:
    name = ctx.services.config.agent.name
    return f"Hi, I am {name}. Send a message to talk to me, or /help for the commands."


async def new_command(ctx: CommandContext) -> str:
    ctx.services.store.reset(ctx.session_key)
    return "Started a new session; the previous conversation is kept in the history."


async def ping_command(ctx: CommandContext) -> str:
    return "pong"


async def model_command(ctx: CommandContext) -> str:
    services = ctx.services
    ref = ctx.args.strip()
    if not ref:
        last = services.models.last_model or "none yet"
        return f"Model: {_session_model(ctx)} (last answer from: {last})"
    if ref in ("default", "reset"):
        services.store.set_model(ctx.session_key, None)
        return f"Model reset to the default: {services.config.agent.model}"
    try:
        provider, _ = split_ref(ref)
        services.models.settings(provider)
    except (ValueError, LookupError) as exc:
        return f"Cannot use {ref!r}: {exc}"
    services.store.set_model(ctx.session_key, ref)
    return f"Model for this session: {ref}"


async def sessions_command(ctx: CommandContext) -> str:
    """The user's own sessions on this channel: other users' keys would show their ids."""
    channel = ctx.session_key.split(":", 1)[0]
    own = ":".join(ctx.session_key.split(":")[:3]) + ":"  # {channel}:{agent}:{user}:
    sessions = [s for s in ctx.services.store.list_sessions(channel) if s.key.startswith(own)][:10]
    if not sessions:
        return "No sessions yet."
    lines = ["Sessions:"]
    for info in sessions:
        marker = "▶ " if info.key == ctx.session_key else "  "
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(info.updated_at))
        lines.append(f"{marker}{info.key} · {info.message_count} msgs · {when}")
    return "\n".join(lines)


async def status_command(ctx: CommandContext) -> str:
    status = ctx.services.status()
    _, isolation = ctx.services.sandbox.describe_isolation()
    return "\n".join(
        [
            f"openclaw {status['version']}",
            f"agent: {ctx.services.config.agent.name}",
            f"model: {_session_model(ctx)} (last answer from: {status['last_model'] or 'none'})",
            f"tools: {len(status['tools'])} · commands: {len(status['commands'])}",
            f"plugins: {', '.join(status['plugins'])}",
            f"sandbox: {isolation}",
        ]
    )


async def export_command(ctx: CommandContext) -> CommandReply:
    if ctx.services.store.session(ctx.session_key) is None:
        return CommandReply("Nothing to export yet: this session has no messages.")
    from openclaw.store import export_markdown

    text = export_markdown(ctx.services.store, ctx.session_key)
    filename = ctx.session_key.replace(":", "_") + ".md"
    return CommandReply(text, file=(filename, text.encode("utf-8")))


async def db_command(ctx: CommandContext) -> str:
    stats = ctx.services.store.stats()
    channels = ", ".join(f"{k}: {v}" for k, v in sorted(stats.by_channel.items())) or "none"
    return (
        f"sessions: {stats.sessions} · messages: {stats.messages} · tokens: {stats.tokens}\n"
        f"size: {stats.db_bytes / 1024:.1f} KiB · by channel: {channels}"
    )


async def cron_command(ctx: CommandContext) -> str:
    """The asker's own cron jobs (the owner, at the terminal, sees all; so does `openclaw
    cron`): other users' jobs would show their prompts and chats."""
    from openclaw.cron import CronStoreError, JobStore, describe, describe_all, jobs_path, owned

    store = JobStore(jobs_path(ctx.services.config.home))
    action, _, ref = ctx.args.partition(" ")
    action, ref = action.lower(), ref.strip()
    try:
        if action in ("", "list"):
            jobs = [job for job in store.load() if owned(job, ctx.principal)]
            if not jobs:
                return "No cron jobs yet: ask me to add one (or run `openclaw cron add`)."
            return "\n".join(["Cron jobs:", *describe_all(jobs)])
        if action in ("enable", "disable") and ref:
            job = store.set_enabled(ref, action == "enable", ctx.principal)
            if ctx.services.cron is not None:
                ctx.services.cron.wake()
            return f"{action.capitalize()}d: {describe(job)}"
    except CronStoreError as exc:
        return f"⚠️ {exc}"
    return "Usage: /cron (list the jobs), /cron enable <name>, /cron disable <name>"


COMMANDS = (
    Command("start", "greeting and how to begin", start_command),
    Command("help", "list the commands", help_command),
    Command("new", "start a fresh session", new_command, aliases=("reset",)),
    Command("model", "show or switch this session's model", model_command, usage="[ref]"),
    Command("sessions", "list your sessions", sessions_command),
    Command("status", "version, model and what is loaded", status_command),
    Command("export", "this conversation as markdown", export_command),
    Command("ping", "check that the assistant is there", ping_command),
    Command("db", "session store statistics", db_command),
    Command("cron", "list or switch your cron jobs", cron_command, usage="[enable|disable name]"),
)


@hookimpl
def register_commands(register: Any) -> None:
    for command in COMMANDS:
        register(command)
