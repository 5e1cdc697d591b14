"""`openclaw gateway` as a user runs it: the installed plugin, a token from the environment,
SIGTERM in the middle of a turn."""

from __future__ import annotations

import json
from pathlib import Path

from openclaw_channel_telegram.testing import FakeBotAPI

from openclaw.store import SqliteStore
from openclaw.testing.gateway_process import sigterm_mid_turn
from openclaw.testing.servers import FakeOpenAIServer, Reply


def test_sigterm_mid_turn_drains_and_exits_0(
    openclaw_home: Path, openclaw_telegram_api: FakeBotAPI
):
    with FakeOpenAIServer(delay=0.2) as server:
        server.enqueue(Reply("Once upon a time, the end.", chunks=6))
        config = {
            "agent": {"model": "srv/fake-model"},
            "providers": {"srv": {"type": "openai", "base_url": server.base_url}},
            "channels": {
                "telegram": {
                    "enabled": True,
                    "token": {"$env": "TELEGRAM_BOT_TOKEN"},
                    "api_base": openclaw_telegram_api.base_url,
                    "allowed_user_ids": [42],
                    "poll_timeout": 1,
                }
            },
            "limits": {"debounce_ms": 0},
        }
        (openclaw_home / "openclaw.json").write_text(json.dumps(config))
        env = {
            "OPENCLAW_LOAD_PLUGINS": "telegram",
            "TELEGRAM_BOT_TOKEN": openclaw_telegram_api.token,
        }
        returncode, stderr = sigterm_mid_turn(
            openclaw_home,
            server,
            env,
            after_start=lambda: openclaw_telegram_api.user_sends(42, 42, "tell me a story"),
        )
    assert returncode == 0, stderr
    assert openclaw_telegram_api.token not in stderr
    [reply] = openclaw_telegram_api.messages(42)
    assert reply.text.startswith("Once upon a time, the end.")
    with SqliteStore(openclaw_home / "sessions.db") as store:
        history = store.history("tg:main:42:42")
    assert [m.role for m in history] == ["user", "assistant"]
