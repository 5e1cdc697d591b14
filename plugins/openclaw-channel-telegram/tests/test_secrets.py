"""Secrets out of every output, through the real gateway, aiogram and the fake Bot API: the
bot token of a failed file download, a key a model server echoes in its 401, a password in a
provider's `base_url` — none reaches the log, `/status` or the chat."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import openclaw_channel_telegram.plugin as telegram_plugin
import pytest
from openclaw_channel_telegram.testing import FakeBotAPI

from openclaw.gateway import Gateway
from openclaw.testing.gateway_process import sigterm_mid_turn
from openclaw.testing.servers import FakeOpenAIServer, Reply

KEY = "sk-planted-openai-key-0123456789"
PASSWORD = "planted-url-password"


@pytest.fixture
def start(openclaw_make_app, openclaw_telegram_api, openclaw_start_gateway):
    async def start(config: dict[str, Any] | None = None) -> Gateway:
        data = {
            "channels": {"telegram": openclaw_telegram_api.channel_settings()},
            "limits": {"debounce_ms": 0},
            **(config or {}),
        }
        app = openclaw_make_app(config=data, plugins=[telegram_plugin])
        return await openclaw_start_gateway(Gateway(app, port=0), channel="telegram")

    return start


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_a_failed_photo_download_logs_no_token(start, openclaw_telegram_api, caplog):
    gateway = await start()
    openclaw_telegram_api.fail("file", 500, times=10)  # every attempt, retries included
    openclaw_telegram_api.user_sends_photo(42, 42)
    await openclaw_telegram_api.wait_for(
        lambda: "downloading a file failed" in caplog.text, what="the failure was not logged"
    )
    assert "/file/bot[REDACTED]/photos/" in caplog.text  # aiohttp's error names the URL...
    assert openclaw_telegram_api.token not in caplog.text  # ...its traceback included, token masked
    assert openclaw_telegram_api.token not in json.dumps(gateway.status())


async def test_a_key_echoed_in_a_401_stays_out_of_the_chat_and_the_log(
    start, openclaw_telegram_api, caplog, capfd
):
    with FakeOpenAIServer() as server:
        server.enqueue(Reply.error(401, "Incorrect API key provided: {api_key}"))
        provider = {"type": "openai", "base_url": server.base_url, "api_key": KEY}
        await start({"agent": {"model": "srv/gpt-4o-mini"}, "providers": {"srv": provider}})
        openclaw_telegram_api.user_sends(42, 42, "hi")
        reply = await openclaw_telegram_api.wait_for(
            lambda: "".join(openclaw_telegram_api.texts(42))
        )
    assert server.api_keys == [KEY]
    assert "srv/gpt-4o-mini: HTTP 401 (authentication)" in reply  # the model, what went wrong
    assert "Incorrect API key" not in reply  # but not the server's words
    assert "Incorrect API key provided: [REDACTED]" in caplog.text  # they go to the log, masked
    logged = caplog.text + capfd.readouterr().err
    assert KEY not in logged and KEY not in reply


async def test_a_base_url_password_stays_out_of_the_chat_the_log_and_status(
    start, openclaw_telegram_api, caplog, capfd
):
    port = closed_port()
    base_url = f"http://openclaw:{PASSWORD}@127.0.0.1:{port}/v1"
    provider = {"type": "openai", "base_url": base_url, "max_retries": 0}
    gateway = await start({"agent": {"model": "srv/m"}, "providers": {"srv": provider}})
    openclaw_telegram_api.user_sends(42, 42, "hi")
    reply = await openclaw_telegram_api.wait_for(lambda: "".join(openclaw_telegram_api.texts(42)))
    assert f"cannot reach http://openclaw:[REDACTED]@127.0.0.1:{port}/v1" in reply
    outputs = [reply, caplog.text, capfd.readouterr().err, json.dumps(gateway.status())]
    assert not [text for text in outputs if PASSWORD in text]


def test_the_gateway_process_log_holds_no_token(
    openclaw_home: Path, openclaw_telegram_api: FakeBotAPI
):
    """`openclaw gateway` as a user runs it: its stderr is the gateway log."""
    with FakeOpenAIServer(delay=0.2) as server:
        server.enqueue(Reply("A slow answer, long enough to be interrupted.", chunks=6))
        config = {
            "agent": {"model": "srv/fake-model"},
            "providers": {"srv": {"type": "openai", "base_url": server.base_url}},
            "channels": {
                "telegram": {
                    **openclaw_telegram_api.channel_settings([42]),
                    "token": {"$env": "TELEGRAM_BOT_TOKEN"},
                }
            },
            "limits": {"debounce_ms": 0},
        }
        (openclaw_home / "openclaw.json").write_text(json.dumps(config))
        openclaw_telegram_api.fail("file", 500, times=10)

        def users_write() -> None:
            openclaw_telegram_api.user_sends_photo(42, 42)
            openclaw_telegram_api.user_sends(42, 42, "tell me a story")

        env = {
            "OPENCLAW_LOAD_PLUGINS": "telegram",
            "TELEGRAM_BOT_TOKEN": openclaw_telegram_api.token,
        }
        returncode, stderr = sigterm_mid_turn(openclaw_home, server, env, after_start=users_write)
    assert returncode == 0, stderr
    assert "downloading a file failed" in stderr and "/file/bot[REDACTED]/" in stderr
    assert openclaw_telegram_api.token not in stderr
