"""Hook implementations of the Discord channel; the channel module and disnake are imported
only when a bot is built."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from openclaw.channels import ChannelType
from openclaw.hookspecs import hookimpl
from openclaw_channel_discord.settings import DiscordSettings

if TYPE_CHECKING:
    from openclaw_channel_discord.channel import DiscordChannel


def create(services: Any, settings: DiscordSettings) -> DiscordChannel:
    """Import the channel module only for a gateway that runs this channel."""
    from openclaw_channel_discord.channel import create as create_channel

    return create_channel(services, settings)


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
