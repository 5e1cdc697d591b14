"""The plugin as the kernel sees it: registration, settings, the light import, the surface."""

from __future__ import annotations

import subprocess
import sys

import pytest
from openclaw_channel_discord.channel import DiscordChannel
from openclaw_channel_discord.settings import DiscordSettings

from openclaw.channels import Channel, ChannelSurface, InboundMessage
from openclaw.config import ConfigError


def settings(**values) -> DiscordSettings:
    return DiscordSettings.model_validate({"enabled": True, "token": "t.o.k", **values})


def test_the_channel_satisfies_the_kernel_protocols():
    channel = DiscordChannel(None, settings())
    assert isinstance(channel, Channel) and isinstance(channel, ChannelSurface)
    assert (channel.name, channel.prefix, channel.max_len) == ("discord", "dc", 2000)
    message = InboundMessage(channel.prefix, "42", "7000042")
    assert message.session_key("main") == "dc:main:42:7000042"


def test_an_enabled_channel_needs_a_token():
    with pytest.raises(ValueError, match=r"channels\.discord\.token is required"):
        DiscordSettings.model_validate({"enabled": True})


def test_a_missing_environment_variable_names_the_setting(monkeypatch):
    monkeypatch.delenv("DISCORD_BOT_TOKEN", raising=False)
    configured = settings(token={"$env": "DISCORD_BOT_TOKEN"})
    with pytest.raises(ConfigError, match=r"channels\.discord\.token: environment variable"):
        configured.bot_token()
    monkeypatch.setenv("DISCORD_BOT_TOKEN", " abc.def.ghi\n")
    assert configured.bot_token() == "abc.def.ghi"


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="http"):
        settings(api_base="discord.com/api")
    with pytest.raises(ValueError, match="reconnect_max_delay"):
        settings(reconnect_delay=10, reconnect_max_delay=1)


def test_the_token_is_masked_in_dumps():
    assert "t.o.k" not in settings().model_dump_json()


def test_loading_the_plugin_does_not_import_disnake():
    code = (
        "import sys, openclaw_channel_discord.plugin\n"
        "assert 'disnake' not in sys.modules, 'disnake imported at load'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


async def test_the_entry_point_registers_the_channel(openclaw_make_app):
    async with openclaw_make_app(entry_points=True) as app:
        kind = app.registry.channels["discord"].value
    assert kind.settings_model is DiscordSettings
