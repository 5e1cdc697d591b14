"""Hook implementations of the Telegram channel; the channel module and aiogram are imported
only when a bot is built."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from openclaw.channels import ChannelType
from openclaw.hookspecs import hookimpl
from openclaw_channel_telegram.settings import TelegramSettings

if TYPE_CHECKING:
    from openclaw_channel_telegram.channel import TelegramChannel


def create(services: Any, settings: TelegramSettings) -> TelegramChannel:
    """Import the channel module only for a gateway that runs this channel."""
    from openclaw_channel_telegram.channel import create as create_channel

    return create_channel(services, settings)


@hookimpl
def register_channels(register: Callable[[ChannelType], None]) -> None:
    register(
        ChannelType(
            name="telegram",
            create=create,
            settings_model=TelegramSettings,
            description="a Telegram bot (aiogram; long polling or webhook)",
        )
    )
