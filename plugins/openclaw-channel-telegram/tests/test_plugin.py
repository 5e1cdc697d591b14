"""The plugin as installed: entry point, settings validation, webhook mode."""

from __future__ import annotations

import aiohttp
import pytest
from openclaw_channel_telegram.channel import TelegramChannel
from openclaw_channel_telegram.settings import TelegramSettings

from openclaw.app import App
from openclaw.config import Config, ConfigError


def test_entry_point_registers_the_channel(openclaw_home):
    app = App(Config())
    channel = app.registry.channels["telegram"].value
    assert channel.settings_model is TelegramSettings
    assert app.registry.channels["telegram"].plugin == "telegram"


def test_enabled_without_token_names_the_setting():
    with pytest.raises(ValueError, match=r"channels\.telegram\.token is required"):
        TelegramSettings(enabled=True)
    TelegramSettings(enabled=False)  # a disabled channel needs nothing


def test_unset_env_token_names_variable_and_setting(monkeypatch):
    monkeypatch.delenv("TG_TOKEN_FOR_TEST", raising=False)
    settings = TelegramSettings.model_validate(
        {"enabled": True, "token": {"$env": "TG_TOKEN_FOR_TEST"}}
    )
    with pytest.raises(ConfigError, match=r"channels\.telegram\.token: .*TG_TOKEN_FOR_TEST"):
        TelegramChannel(None, settings)
    monkeypatch.setenv("TG_TOKEN_FOR_TEST", "not a token")
    with pytest.raises(ConfigError, match="does not look like a bot token") as error:
        TelegramChannel(None, settings)
    assert "not a token" not in str(error.value)


def test_webhook_mode_needs_a_url():
    with pytest.raises(ValueError, match="webhook_url is required"):
        TelegramSettings(mode="webhook")


async def test_webhook_mode_feeds_updates(make_channel, gateway, running, openclaw_telegram_api):
    channel = make_channel(
        mode="webhook",
        webhook_url="https://bot.example.org/telegram/webhook",
        webhook_port=0,
        webhook_secret="s3cret",
    )
    update = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 42, "type": "private"},
            "from": {"id": 42, "is_bot": False, "first_name": "U"},
            "text": "via webhook",
        },
    }
    async with running(channel, gateway):
        assert openclaw_telegram_api.webhook["url"] == "https://bot.example.org/telegram/webhook"
        assert openclaw_telegram_api.webhook["secret_token"] == "s3cret"
        url = f"http://127.0.0.1:{channel.webhook_port}/telegram/webhook"
        async with aiohttp.ClientSession() as session:
            async with session.post(url, json=update) as refused:
                assert refused.status == 401
            headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
            async with session.post(url, json=update, headers=headers) as accepted:
                assert accepted.status == 200
        await openclaw_telegram_api.wait_for(lambda: gateway.received)
    assert gateway.received[0].text == "via webhook"
