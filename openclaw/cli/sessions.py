"""`openclaw sessions list|show|export|prune|migrate|stats`; the long ones show progress on a
terminal."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from openclaw.cli.common import load

if TYPE_CHECKING:
    from openclaw.store import SessionStore, SqliteStore


def open_store(ctx: click.Context) -> SqliteStore:
    from openclaw.store import SqliteStore

    return SqliteStore(load(ctx).sessions_db)


def resolve_key(store: SessionStore, partial: str) -> str:
    """An exact key, or the one session whose key contains `partial`."""
    if store.session(partial) is not None:
        return partial
    matches = store.find(partial)
    if not matches:
        raise click.ClickException(f"no session matches {partial!r}")
    if len(matches) > 1:
        keys = ", ".join(info.key for info in matches[:10])
        raise click.ClickException(f"{partial!r} matches several sessions: {keys}")
    return matches[0].key


def _when(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp)) if stamp else "-"


@click.group()
def sessions() -> None:
    """List, show, export, prune and migrate conversation sessions."""


@sessions.command("list")
@click.option("--channel", help="Only this channel prefix (tg, dc, cli, ...).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def list_(ctx: click.Context, channel: str | None, as_json: bool) -> None:
    """Active sessions, most recent first."""
    with open_store(ctx) as store:
        found = store.list_sessions(channel)
        if as_json:
            from openclaw.cli.common import to_json

            click.echo(to_json({"sessions": found}))
            return
        for info in found:
            click.echo(
                f"{info.key}  {info.message_count} msgs  {info.tokens} tokens  "
                f"{_when(info.updated_at)}"
            )
        if not found:
            click.echo("No sessions yet.")


@sessions.command()
@click.argument("key")
@click.option("-n", "--limit", type=int, default=50, show_default=True, help="Last N messages.")
@click.pass_context
def show(ctx: click.Context, key: str, limit: int) -> None:
    """Print a session's recent messages (KEY may be part of a key), secrets masked."""
    from openclaw.redaction import redact

    with open_store(ctx) as store:
        full = resolve_key(store, key)
        for message in store.history(full, limit=limit):
            text = message.text
            if message.tool_calls:
                text += " " + ", ".join(f"{c.name}({c.arguments})" for c in message.tool_calls)
            click.echo(redact(f"[{_when(message.created_at)}] {message.role}: {text}"))


@sessions.command()
@click.argument("key")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to a file.")
@click.pass_context
def export(ctx: click.Context, key: str, output: str | None) -> None:
    """Export a session as markdown."""
    from openclaw.progress import Progress

    with open_store(ctx) as store, Progress("exporting messages") as bar:
        from openclaw.store import export_markdown

        text = export_markdown(store, resolve_key(store, key), progress=bar.update)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}")
    else:
        click.echo(text)


@sessions.command()
@click.option("--days", type=float, help="Age limit in days (default: store.prune_days, 30).")
@click.pass_context
def prune(ctx: click.Context, days: float | None) -> None:
    """Delete sessions untouched for longer than the age limit."""
    config = load(ctx)
    limit = days if days is not None else config.store.prune_days
    from openclaw.progress import Progress

    with open_store(ctx) as store, Progress("pruning sessions") as bar:
        removed = store.prune(limit, progress=bar.update)
    click.echo(f"pruned {removed} session(s) older than {limit:g} days")


@sessions.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Bring session keys to the current form (cli:main:chat becomes cli:main:0:chat).

    The gateway does this when it starts; run it by hand after an upgrade of a large store."""
    from openclaw.progress import Progress

    with open_store(ctx) as store, Progress("migrating session keys") as bar:
        from openclaw.store import migrate_keys

        moved = migrate_keys(store, progress=bar.update)
    click.echo(f"migrated {moved} session key(s)")


@sessions.command()
@click.pass_context
def stats(ctx: click.Context) -> None:
    """Store statistics: sessions, messages, tokens, size, oldest and newest."""
    with open_store(ctx) as store:
        s = store.stats()
    click.echo(f"sessions: {s.sessions}\nmessages: {s.messages}\ntokens: {s.tokens}")
    click.echo(f"size: {s.db_bytes / 1024:.1f} KiB")
    click.echo(f"oldest: {_when(s.oldest)}\nnewest: {_when(s.newest)}")
    for channel, count in sorted(s.by_channel.items()):
        click.echo(f"  {channel}: {count}")
