"""Slash commands: one registry and one parser for every channel.

Channels hand the text over; the kernel finds the command and runs it, so `/help` behaves the
same on Telegram, Discord and the terminal.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from openclaw.principal import OWNER, Principal

if TYPE_CHECKING:
    from openclaw.services import Services

COMMAND_PREFIXES = ("/", "!")


@dataclass(slots=True)
class CommandContext:
    """Who ran a command, where, and with what arguments, and the App's services and
    commands. `principal` is the user a command acts for (the owner at the terminal):
    commands on shared state show only what is theirs."""

    services: Services
    session_key: str
    commands: Mapping[str, Command] = field(default_factory=dict)
    """Every command of the App (set by `run_command`), for `/help`."""
    args: str = ""
    channel: str = ""
    user_id: str = ""
    chat_id: str = ""
    principal: Principal = OWNER


@dataclass(slots=True)
class CommandReply:
    """A command's answer: text, and optionally a file (name, bytes) for channels that can
    send files, or a voice message (OGG/Opus bytes) sent with the text as its caption."""

    text: str
    file: tuple[str, bytes] | None = None
    voice: bytes | None = None


CommandFunction = Callable[[CommandContext], Awaitable[str | CommandReply]]


@dataclass(slots=True)
class Command:
    name: str
    description: str
    run: CommandFunction
    usage: str = ""
    aliases: tuple[str, ...] = field(default_factory=tuple)


def parse_command(
    text: str, prefixes: tuple[str, ...] = COMMAND_PREFIXES
) -> tuple[str, str] | None:
    """`/model openai/gpt-4o` → ("model", "openai/gpt-4o"); `/help@MyBot` → ("help", "")."""
    stripped = text.strip()
    if not stripped or stripped[0] not in prefixes or len(stripped) == 1:
        return None
    head, _, args = stripped[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    if not name.replace("_", "").replace("-", "").isalnum():
        return None
    return name, args.strip()


def find_command(commands: Mapping[str, Command], name: str) -> Command | None:
    if name in commands:
        return commands[name]
    return next((c for c in commands.values() if name in c.aliases), None)


def match_command(commands: Mapping[str, Command], text: str) -> tuple[Command, str] | None:
    """The known command `text` invokes and its arguments, or None for any other text."""
    parsed = parse_command(text)
    if parsed is None:
        return None
    command = find_command(commands, parsed[0])
    return None if command is None else (command, parsed[1])


async def run_command(
    commands: Mapping[str, Command], text: str, context: CommandContext
) -> CommandReply | None:
    """Run the command in `text`, or return None when `text` is not a known command."""
    found = match_command(commands, text)
    if found is None:
        return None
    command, context.args = found
    context.commands = commands
    reply = await command.run(context)
    return reply if isinstance(reply, CommandReply) else CommandReply(reply)


def unknown_command(commands: Mapping[str, Command], text: str) -> str | None:
    """The reply to `/word` that names no command (a typo should not cost a model turn), or
    None when `text` is a known command or no command at all (`/etc/hosts?` is a message)."""
    parsed = parse_command(text, ("/",))
    if parsed is None or find_command(commands, parsed[0]) is not None:
        return None
    return f"Unknown command /{parsed[0]}. /help lists the commands."
