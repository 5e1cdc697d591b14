"""`/voice` runs its turn for the user who asked: the tools of that turn see the asking user's
principal (what they may see of shared state), not the owner's."""

from __future__ import annotations

import json
import types

import openclaw_voice.plugin as voice_plugin

from openclaw import hookimpl
from openclaw.commands import CommandContext, run_command
from openclaw.principal import Principal
from openclaw.tools import ToolCallContext, tool


@tool
def whoami(context: ToolCallContext) -> str:
    """Who this turn acts for."""
    return json.dumps(context.principal.to_dict())


@hookimpl
def register_tools(register, context):
    register(whoami)


WHOAMI = types.SimpleNamespace(register_tools=register_tools)


async def test_slash_voice_runs_the_turn_for_the_asking_user(
    openclaw_make_app, openclaw_mock_model
):
    openclaw_mock_model.enqueue(tool_calls=[("whoami", {})]).enqueue("You are user 43.")
    config = {"voice": {"ffmpeg": "/nonexistent/ffmpeg"}}  # answered in text: no audio needed
    asking = Principal("telegram", "43", "tg")
    async with openclaw_make_app(config, plugins=[voice_plugin, ("whoami", WHOAMI)]) as app:
        context = CommandContext(
            app.services,
            "tg:main:43:43",
            args="who am I?",
            channel="telegram",
            user_id="43",
            chat_id="43",
            principal=asking,
        )
        reply = await run_command(app.registry.command_map(), "/voice who am I?", context)
        history = app.services.store.history("tg:main:43:43")
    [result] = openclaw_mock_model.tool_results()
    assert not result.is_error
    assert json.loads(result.text) == {"channel": "telegram", "user": "43", "prefix": "tg"}
    assert reply.text.startswith("You are user 43.\n\nℹ️ No voice reply: ffmpeg not found")
    assert [m.text for m in history if m.role == "user"] == ["who am I?"]  # the user's session
