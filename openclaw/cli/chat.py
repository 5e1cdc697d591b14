"""`openclaw chat`: the REPL at the terminal, the owner's own conversation with the agent. A
turn's events are streamed to the terminal as they come (text, tool and round indicators, the
stats footer)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, TextIO

from openclaw.channels import InboundMessage
from openclaw.commands import CommandContext, match_command, run_command, unknown_command
from openclaw.events import (
    Event,
    ProviderFallback,
    RoundStarted,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnFailed,
    TurnFinished,
)

if TYPE_CHECKING:
    from openclaw.app import App

CHANNEL = "cli"
EXIT_HELP = "\n/exit — leave the chat (also /quit or Ctrl-D)"


async def render_turn(events: AsyncIterator[Event], out: TextIO) -> TurnFinished | TurnFailed:
    """Write the answer as it streams, with tool and round indicators and the stats footer."""
    at_line_start = True
    final: TurnFinished | TurnFailed | None = None

    def line(text: str) -> None:
        nonlocal at_line_start
        out.write(("" if at_line_start else "\n") + text + "\n")
        at_line_start = True

    async for event in events:
        if isinstance(event, TextDelta):
            out.write(event.text)
            at_line_start = event.text.endswith("\n")
        elif isinstance(event, RoundStarted) and event.round > 1:
            line(f"🔄 round {event.round}")
        elif isinstance(event, ToolStarted):
            line(f"⚙️ {event.name} running…")
        elif isinstance(event, ToolFinished):
            mark = "✅" if event.ok else "❌"
            line(f"{mark} {event.name} ({event.elapsed_ms:.0f} ms)")
        elif isinstance(event, ProviderFallback) and event.last_resort:
            line(
                f"ℹ️ {event.failed} did not answer ({event.error}); a small offline model "
                f"({event.next}) is answering. For a real model set agent.model in the config "
                "or OPENCLAW_MODEL=provider/model (see `openclaw doctor`)."
            )
        elif isinstance(event, ProviderFallback):
            line(f"↪ {event.failed} failed ({event.error}); trying {event.next}")
        elif isinstance(event, TurnFinished):
            if event.stopped:
                line(event.text.rsplit("\n", 1)[-1])
            line(f"— {event.footer()}")
            final = event
        elif isinstance(event, TurnFailed):
            final = event
        out.flush()
    assert final is not None, "a turn ended without a final event"
    return final


async def chat_loop(
    app: App,
    session_key: str,
    read_line: Callable[[str], str],
    out: TextIO,
    model: str | None = None,
) -> None:
    """Read a line, answer it (a slash command or an agent turn), repeat until EOF or /exit."""
    out.write(f"{app.config.agent.name} is listening. /help for commands, /exit to leave.\n")
    while True:
        try:
            text = await asyncio.to_thread(read_line, "you › ")
        except (EOFError, KeyboardInterrupt):
            out.write("\n")
            return
        text = text.strip()
        if not text:
            continue
        if text in ("/exit", "/quit"):
            return
        inbound = app.inbound(InboundMessage(CHANNEL, "local", "default", text))
        if isinstance(inbound, str):
            out.write(inbound + "\n")
            continue
        commands = app.registry.command_map()
        unknown = unknown_command(commands, inbound.text)
        if unknown is not None:
            out.write(unknown + "\n")
            continue
        context = CommandContext(app.services, session_key, channel=CHANNEL, user_id="local")
        reply = await run_command(commands, inbound.text, context)
        if reply is not None:
            found = match_command(commands, inbound.text)
            extra = EXIT_HELP if found is not None and found[0].name == "help" else ""
            out.write(reply.text + extra + "\n")
            continue
        turn = app.run_turn(inbound.content(), session_key=session_key, model=model)
        result = await render_turn(turn, out)
        if isinstance(result, TurnFailed):
            out.write(f"error: {result.error}\n")
