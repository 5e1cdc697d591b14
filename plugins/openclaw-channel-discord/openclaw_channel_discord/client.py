"""The disnake client behind the Discord channel: the gateway events it asks for, who a reply
may ping, how long it waits before identifying again, and the events it hands to the channel.

Imported only when a bot is built (disnake is heavy); the channel module stays light.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import disnake
from disnake.interactions.application_command import ApplicationCommandInteraction

if TYPE_CHECKING:
    from openclaw_channel_discord.channel import DiscordChannel

log = logging.getLogger("openclaw.discord")

INTENTS = disnake.Intents(guilds=True, guild_messages=True, dm_messages=True, message_content=True)
"""Server and DM messages with their text (message content is a privileged intent: switch it
on for the bot in the Developer Portal)."""

MENTIONS = disnake.AllowedMentions(everyone=False, users=False, roles=False, replied_user=True)
"""A model's answer never pings @everyone, roles or users; only the person it answers."""


class BotClient(disnake.Client):
    """A disnake Client that reports to a `DiscordChannel`."""

    def __init__(self, channel: DiscordChannel) -> None:
        super().__init__(
            intents=INTENTS,
            allowed_mentions=MENTIONS,
            max_messages=None,  # the kernel keeps the history; no message cache needed
            chunk_guilds_at_startup=False,
        )
        self._channel = channel

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Discord wants a pause before a new IDENTIFY after an invalid session."""
        if not initial:
            await asyncio.sleep(self._channel.settings.identify_delay)

    async def on_connect(self) -> None:
        self._channel.connected("identified")

    async def on_resumed(self) -> None:
        self._channel.connected("resumed")

    async def on_disconnect(self) -> None:
        self._channel.disconnected()

    async def on_message(self, message: disnake.Message) -> None:
        await self._channel.on_message(message)

    async def on_application_command(self, interaction: ApplicationCommandInteraction) -> None:
        await self._channel.on_command(interaction)

    async def on_error(self, event_method: str, *args: Any, **kwargs: Any) -> None:
        log.exception("discord: the %s handler failed", event_method)
