"""`openclaw gateway` as a user runs it: the installed plugin, a token from the environment,
SIGTERM in the middle of a turn."""

from __future__ import annotations

import json
from pathlib import Path

from openclaw.store import SqliteStore
from openclaw.testing.discord import FakeDiscord
from openclaw.testing.gateway_process import sigterm_mid_turn
from openclaw.testing.servers import FakeOpenAIServer, Reply


def test_sigterm_mid_turn_drains_and_exits_0(openclaw_home: Path, discord_api: FakeDiscord):
    with FakeOpenAIServer(delay=0.2) as server:
        server.enqueue(Reply("Once upon a time, the end.", chunks=6))
        config = {
            "agent": {"model": "srv/fake-model"},
            "providers": {"srv": {"type": "openai", "base_url": server.base_url}},
            "channels": {
                "discord": {
                    "enabled": True,
                    "token": {"$env": "DISCORD_BOT_TOKEN"},
                    "api_base": discord_api.api_base,
                    "allowed_user_ids": [42],
                }
            },
            "limits": {"debounce_ms": 0},
        }
        (openclaw_home / "openclaw.json").write_text(json.dumps(config))

        def user_writes() -> None:
            discord_api.wait_until_connected()
            discord_api.user_sends(42, content="tell me a story")

        env = {"OPENCLAW_LOAD_PLUGINS": "discord", "DISCORD_BOT_TOKEN": discord_api.token}
        returncode, stderr = sigterm_mid_turn(openclaw_home, server, env, after_start=user_writes)
    assert returncode == 0, stderr
    assert discord_api.token not in stderr
    [reply] = discord_api.messages(discord_api.dm_channel(42))
    assert reply.content.startswith("Once upon a time, the end.")
    with SqliteStore(openclaw_home / "sessions.db") as store:
        history = store.history(f"dc:main:42:{discord_api.dm_channel(42)}")
    assert [m.role for m in history] == ["user", "assistant"]
