"""Hook implementations of the Discord channel; disnake is imported when a bot is built."""

from __future__ import annotations

from collections.abc import Callable

from openclaw.channels import ChannelType
from openclaw.hookspecs import hookimpl
from openclaw_channel_discord.channel import create
from openclaw_channel_discord.settings import DiscordSettings


@hookimpl
def register_channels(register: Callable[[ChannelType], None]) -> None:
    register(
        ChannelType(
            name="discord",
            create=create,
            settings_model=DiscordSettings,
            description="a Discord bot (disnake; DMs and server channels)",
        )
    )
