"""Embed the openclaw kernel in your own program: one in-process plugin (a tool and a sink),
one streamed turn, one `ask`, and a failed turn caught as `TurnError`.

It runs offline: a FakeOpenAIServer from `openclaw.testing.servers` plays the model, and
OPENCLAW_HOME points at a temporary folder, so nothing touches ~/.openclaw.

    python docs/examples/embed.py
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Callable
from contextlib import aclosing
from typing import Any

from openclaw import hookimpl
from openclaw.app import App, TurnError
from openclaw.config import Config
from openclaw.events import (
    Event,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnFailed,
    TurnFinished,
)
from openclaw.testing.servers import FakeOpenAIServer, Reply
from openclaw.tools import ToolContext, tool

SESSION = "embed:main:alice:demo"  # {channel}:{agent}:{user}:{chat}


@tool
def add(a: int, b: int) -> str:
    """Add two integers and return the sum."""
    return str(a + b)


class CountingSink:
    """Receives every event of the App; counts them by type."""

    name = "counting"

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def handle(self, event: Event) -> None:
        self.counts[event.type] = self.counts.get(event.type, 0) + 1


class EmbedPlugin:
    """An in-process plugin: hook implementations as methods of an object. Like every
    plugin it is handed the App's services (`context.services`), never the App."""

    def __init__(self, sink: CountingSink) -> None:
        self.sink = sink

    @hookimpl
    def register_tools(self, register: Callable[[Any], None], context: ToolContext) -> None:
        register(add)

    @hookimpl
    def register_sinks(self, register: Callable[[Any], None]) -> None:
        register(self.sink)


async def main(server: FakeOpenAIServer) -> int:
    config = Config.model_validate(
        {
            "agent": {"model": "fake/fake-model", "turn_timeout": 30},
            "providers": {
                "fake": {"type": "openai", "base_url": server.base_url, "max_retries": 0}
            },
            "logging": {"level": "error"},  # the built-in log sink stays quiet
        }
    )
    sink = CountingSink()
    app = App(
        config,
        plugins=[("embed", EmbedPlugin(sink))],
        entry_points=False,  # only the default plugins and ours
        environ={},  # ignore OPENCLAW_* variables of the calling shell
    )

    async with app:
        # 1. A streamed turn: the model calls `add`, then answers with the result.
        server.enqueue(
            Reply(tool_calls=[("add", '{"a": 2, "b": 3}')]),
            Reply("2 + 3 = 5.", chunks=3),
        )
        async with aclosing(app.run_turn("What is 2 + 3?", session_key=SESSION)) as events:
            async for event in events:
                if isinstance(event, TextDelta):
                    print(event.text, end="", flush=True)
                elif isinstance(event, ToolStarted):
                    print(f"[tool] {event.name} {event.arguments} running")
                elif isinstance(event, ToolFinished):
                    status = "ok" if event.ok else "failed"
                    print(f"[tool] {event.name} {status} ({event.output_chars} chars)")
                elif isinstance(event, TurnFinished):
                    print(f"\n-- {event.footer()}")
                elif isinstance(event, TurnFailed):
                    print(f"turn failed: {event.error}", file=sys.stderr)
                    return 1

        # What the model received in its second round: the tool's result.
        tool_message = server.requests[1]["messages"][-1]
        print(f"tool result sent to the model: {tool_message['content']}")

        # 2. `ask` runs a turn to the end and returns its TurnFinished.
        server.enqueue("You are welcome.")
        finished = await app.ask("Thanks!", session_key=SESSION)
        print(f"ask: {finished.text} ({finished.rounds} round(s), model {finished.model})")
        print(f"app.models.last_model: {app.models.last_model}")  # what plugins see as services

        # 3. A failed turn raises TurnError; `error.event` is the TurnFailed event.
        server.enqueue(Reply.error(400, "bad request"))
        try:
            await app.ask("This one fails.", session_key=SESSION)
        except TurnError as error:
            print(f"TurnError ({error.event.kind}): {error}")

        roles = [message.role for message in app.store.history(SESSION)]
        print(f"stored: {' '.join(roles)}")
        print(f"sink saw: {', '.join(f'{k}={v}' for k, v in sorted(sink.counts.items()))}")
    return 0


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="openclaw-embed-") as home, FakeOpenAIServer() as fake:
        # Set before the Config is built: the session store and workspace live under it.
        os.environ["OPENCLAW_HOME"] = home
        sys.exit(asyncio.run(main(fake)))
