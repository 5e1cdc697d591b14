"""Hook implementations of the Telegram channel; aiogram is imported when a bot is built."""

from __future__ import annotations

from collections.abc import Callable

from openclaw.channels import ChannelType
from openclaw.hookspecs import hookimpl
from openclaw_channel_telegram.channel import create
from openclaw_channel_telegram.settings import TelegramSettings


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
