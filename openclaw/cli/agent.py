"""`openclaw agent` (one message) and `openclaw chat` (the terminal REPL)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, TextIO

import click

from openclaw.cli.common import load, make_app, to_json

if TYPE_CHECKING:
    from openclaw.config import Config
    from openclaw.events import Event

MODEL_HELP = "Model ref provider/model for this run (default: agent.model, or $OPENCLAW_MODEL)."


def no_answer_hint(config: Config) -> str:
    from openclaw.paths import config_path

    where = config.source or f"{config_path(config.home)} (`openclaw init` writes one)"
    return (
        f"Configure a model: set agent.model in {where}, or run with "
        "OPENCLAW_MODEL=provider/model "
        "(e.g. OPENAI_API_KEY=... OPENCLAW_MODEL=openai/gpt-4o-mini)."
    )


@click.command()
@click.option("-m", "--message", required=True, help="The message to send.")
@click.option("--session", "session_key", help="Session key (default cli:<agent>:local:default).")
@click.option("--model", help=MODEL_HELP)
@click.option("-v", "--verbose", is_flag=True, help="Log events to stderr.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print the turn's events, one JSON object a line."
)
@click.pass_context
def agent(
    ctx: click.Context,
    message: str,
    session_key: str | None,
    model: str | None,
    verbose: bool,
    as_json: bool,
) -> None:
    """Send one message and stream the answer, with tool indicators and a stats footer."""
    from openclaw.cli.chat import render_turn
    from openclaw.events import TurnFailed

    config = load(ctx)
    if not verbose:
        config.logging.level = "error"
    app = make_app(ctx, config)

    async def run() -> TurnFailed | None:
        async with app:
            events = app.run_turn(message, session_key=session_key, model=model)
            render = print_events if as_json else render_turn
            result = await render(events, sys.stdout)
        return result if isinstance(result, TurnFailed) else None

    failed = asyncio.run(run())
    if failed is not None:
        hint = ""
        if failed.kind == "providers":
            hint = "\n" + no_answer_hint(config)
        raise click.ClickException(f"{failed.error}{hint}")


async def print_events(events: AsyncIterator[Event], out: TextIO) -> Event | None:
    """`agent --json`: each event as one JSON line (`type` names it); returns the last."""
    last = None
    async for event in events:
        out.write(to_json(event.to_dict(), indent=None) + "\n")
        out.flush()
        last = event
    return last


@click.command()
@click.option("--session", "session_key", help="Session key (default cli:<agent>:local:default).")
@click.option("--model", help=MODEL_HELP)
@click.pass_context
def chat(ctx: click.Context, session_key: str | None, model: str | None) -> None:
    """Talk with the agent in the terminal; slash commands work as on every channel."""
    from openclaw.cli.chat import chat_loop

    config = load(ctx)
    config.logging.level = "error"
    app = make_app(ctx, config)

    async def run() -> None:
        async with app:
            await chat_loop(app, session_key or app.default_session(), input, sys.stdout, model)

    asyncio.run(run())
