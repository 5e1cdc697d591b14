"""The real `openclaw gateway` process with the installed plugin: the token comes from the
environment, the bot finds Discord through the configured `api_base`, and a SIGTERM in the
middle of an answer lets the answer finish before the process exits 0."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openclaw_channel_discord.testing import MESSAGE_CONTENT_INTENT, FakeDiscord

from openclaw.store import SqliteStore
from openclaw.testing.gateway_process import sigterm_mid_turn
from openclaw.testing.servers import FakeOpenAIServer, Reply

USER = 42
STORY = "A bot, a socket and a signal walked into a bar. The end."


def discord_only(api: FakeDiscord, model: FakeOpenAIServer) -> dict[str, Any]:
    discord = {
        "enabled": True,
        "token": {"$env": "DISCORD_BOT_TOKEN"},
        "api_base": api.api_base,
        "allowed_user_ids": [USER],
    }
    return {
        "agent": {"model": "fake/storyteller"},
        "providers": {"fake": {"type": "openai", "base_url": model.base_url}},
        "channels": {"discord": discord},
        "limits": {"debounce_ms": 0},
    }


def test_sigterm_mid_answer_finishes_it_and_exits_0(
    openclaw_home: Path, openclaw_discord_api: FakeDiscord
):
    def ask() -> None:
        openclaw_discord_api.wait_until_connected()
        openclaw_discord_api.user_sends(USER, content="tell me a story")

    with FakeOpenAIServer(delay=0.2) as model:
        model.enqueue(Reply(STORY, chunks=6))
        config = discord_only(openclaw_discord_api, model)
        (openclaw_home / "openclaw.json").write_text(json.dumps(config))
        env = {"OPENCLAW_LOAD_PLUGINS": "discord", "DISCORD_BOT_TOKEN": openclaw_discord_api.token}
        code, stderr = sigterm_mid_turn(openclaw_home, model, env, after_start=ask)
    assert code == 0, stderr
    assert openclaw_discord_api.token not in stderr
    [identify] = openclaw_discord_api.identifies
    assert identify["intents"] & MESSAGE_CONTENT_INTENT
    dm = openclaw_discord_api.dm_channel(USER)
    [answer] = openclaw_discord_api.messages(dm)
    assert answer.content.startswith(STORY) and answer.reply_to is not None
    with SqliteStore(openclaw_home / "sessions.db") as store:
        roles = [m.role for m in store.history(f"dc:main:{USER}:{dm}")]
    assert roles == ["user", "assistant"]
